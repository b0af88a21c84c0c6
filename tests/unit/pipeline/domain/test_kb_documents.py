"""The help-centre readers as the sync function uses them: a document read from an S3 key gets its id from
the key's file name and a link that is its own or the base URL + that name, never the s3:// key."""

from __future__ import annotations

import pytest

from contract.errors import ConfigurationError, KnowledgeDocumentError
from pipeline.domain.kb_documents import parse_document, supported

ORIGIN = "s3://tms-tickets-archive/kb/docs/network/vpn-dpd.md"


def test_a_key_in_a_sub_folder_is_named_by_its_file_and_linked_under_the_base_url() -> None:
    doc = parse_document(
        "kb/docs/network/vpn-dpd.md",
        "# VPN drops every hour\n\nRaise the DPD timeout.\n",
        origin=ORIGIN,
        base_url="https://wiki.example.com/kb/",
    )

    assert (doc.doc_id, doc.title, doc.uri, doc.origin) == (
        "vpn-dpd",
        "VPN drops every hour",
        "https://wiki.example.com/kb/vpn-dpd",
        ORIGIN,
    )


def test_an_s3_link_in_the_front_matter_is_refused_with_the_file_named() -> None:
    text = "---\nurl: s3://tms-tickets-archive/kb/docs/vpn-dpd.md\n---\nRaise the DPD timeout.\n"

    with pytest.raises(KnowledgeDocumentError, match=r"must be https://") as raised:
        parse_document("kb/docs/vpn-dpd.md", text, origin=ORIGIN, base_url="https://wiki.example.com/kb")
    assert isinstance(raised.value, ConfigurationError)  # the CLI stops on it as before


def test_front_matter_lists_and_scalars_are_both_read() -> None:
    text = "---\ntitle: VPN\nurl: https://help.example.com/vpn\nproducts: AWS VPN\nissue_types: [Tunnel, DPD]\n---\nx\n"

    doc = parse_document("vpn.md", text, origin=ORIGIN)

    assert doc.products == ("AWS VPN",) and doc.issue_types == ("Tunnel", "DPD")


@pytest.mark.parametrize(
    ("name", "read"),
    [("a.md", True), ("b/c.HTML", True), ("d.txt", True), ("e.png", False), ("f/README.md", False)],
)
def test_which_files_are_articles(name: str, read: bool) -> None:
    assert supported(name) is read
