"""`tms kb ingest|search|list|remove`: the knowledge base drafts are grounded in (issue 30).

On the local stack the knowledge base lives in the stack's bucket (kb/index.json), embedded with the
configured embedder (offline MiniLM by default), so it survives `tms local up` restarts like tickets do.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `kb` and its subcommands to the tms command."""
    p = subparsers.add_parser("kb", help="the knowledge base drafts cite: ingest, sync, search, list, remove")
    sub = p.add_subparsers(dest="kb_command", required=True, metavar="SUBCOMMAND")

    ingest = sub.add_parser(
        "ingest",
        help="add or update Markdown, HTML and text files (folders: also drop files gone from them)",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument(
        "--base-url",
        help="https:// prefix for documents without their own url/canonical link (+ the file name)",
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(func=_ingest)

    sync = sub.add_parser(
        "sync",
        help="bring the knowledge base in line with kb/docs/ of the stack bucket now (the kb-sync function's run)",
    )
    sync.add_argument(
        "--base-url",
        help="https:// prefix for documents without their own url/canonical link (default: TMS_KB_BASE_URL)",
    )
    sync.add_argument(
        "--max-documents",
        type=int,
        default=None,
        help="read and embed at most this many changed documents (default: all; the function reads "
        "contract/defaults.KB_SYNC_MAX_DOCUMENTS a run)",
    )
    sync.add_argument("--json", action="store_true", help="print one JSON object")
    sync.set_defaults(func=_sync)

    search = sub.add_parser("search", help="what a ticket with this text would retrieve, with scores")
    search.add_argument("query", nargs="+")
    search.add_argument(
        "-k", type=int, default=None, help="documents to show (default: the top-k drafts use)"
    )
    search.add_argument("--json", action="store_true", help="print one JSON object")
    search.set_defaults(func=_search)

    list_ = sub.add_parser("list", help="the stored documents")
    list_.add_argument("--json", action="store_true", help="print one JSON object")
    list_.set_defaults(func=_list)

    remove = sub.add_parser("remove", help="remove documents by id, link, file or folder")
    remove.add_argument("keys", nargs="+", metavar="ID|URL|PATH")
    remove.add_argument("--json", action="store_true", help="print one JSON object")
    remove.set_defaults(func=_remove)


def knowledge_base() -> Any:
    """The running stack's knowledge base (StackNotRunningError when there is none)."""
    from contract import names
    from contract.clients import aws_client
    from contract.errors import ConfigurationError
    from local.stack import from_environment, resolve
    from pipeline.adapters.embeddings import embedder
    from pipeline.adapters.knowledge_store import S3KnowledgeBase

    info = resolve()
    model_id = embedder().model_id
    if from_environment() is not None and not info.endpoint_url and model_id.startswith("offline:"):
        # A deployed stack's draft function embeds each ticket with Bedrock Titan: an index of offline
        # vectors could never match it (docs/knowledge-base.md "On AWS").
        raise ConfigurationError(
            f"this is a deployed stack ({names.ENV_BUCKET_NAME}={info.bucket_name}, no AWS_ENDPOINT_URL) and "
            f"the embedder is the offline one ({model_id}): set {names.ENV_EMBEDDING_PROVIDER}=bedrock (and "
            f"{names.ENV_EMBEDDING_MODEL_ID}/{names.ENV_EMBEDDING_DIMENSIONS} if you deployed others) so the "
            "index is embedded as the draft function searches it"
        )
    return S3KnowledgeBase(info.bucket_name, aws_client("s3", info, profile="cli"), embedder())


def _ingest(args: argparse.Namespace) -> int:
    from contract.errors import ConfigurationError
    from tools.kb import discover, read_document

    if args.base_url and not args.base_url.startswith("https://"):
        raise ConfigurationError(f"--base-url must start with https://, got {args.base_url!r}")
    files, folders = discover(args.paths)
    documents = [read_document(f, args.base_url) for f in files]
    report = knowledge_base().ingest(documents, replace_under=folders)
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(
            f"{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed; {report.passages} passages"
        )
        for doc_id in report.removed:
            print(f"  removed {doc_id}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    import os

    from contract import names
    from contract.clients import aws_client
    from contract.errors import ConfigurationError
    from local.stack import resolve
    from pipeline.adapters.kb_documents import S3DocumentSource
    from pipeline.domain.kb_sync import sync_documents

    base_url = args.base_url or os.environ.get(names.ENV_KB_BASE_URL, "")
    if base_url and not base_url.startswith("https://"):
        raise ConfigurationError(f"the base URL must start with https://, got {base_url!r}")
    if args.max_documents is not None and args.max_documents < 1:
        raise ConfigurationError(f"--max-documents must be at least 1, got {args.max_documents}")
    kb = knowledge_base()
    info = resolve()
    source = S3DocumentSource(info.bucket_name, names.KB_DOCS_PREFIX, aws_client("s3", info, profile="cli"))
    report = sync_documents(
        source,
        kb,
        origin_prefix=source.uri(names.KB_DOCS_PREFIX),
        base_url=base_url or None,
        max_documents=args.max_documents or 1_000_000,
    )
    if args.json:
        print(json.dumps(asdict(report)))
        return 0
    print(
        f"{len(report.added)} added, {len(report.replaced)} replaced, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed, {len(report.skipped)} skipped"
        + (f"; {report.deferred} left for the next run" if report.deferred else "")
    )
    for doc_id in report.removed:
        print(f"  removed {doc_id}")
    for skipped in report.skipped:
        print(f"  skipped {skipped.key}: {skipped.reason}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from contract import defaults
    from pipeline.adapters.embeddings import embedder
    from pipeline.domain.grounding import relevance, relevance_features

    kb = knowledge_base()
    query = " ".join(args.query)
    hits = kb.search(query, k=args.k or defaults.KB_TOP_K)
    # The draft step's gate (pipeline.domain.grounding.ground): a hit is quoted when the gate opens on the
    # best one and on the hit itself; the best hit's value is the ticket's.
    model_id = embedder().model_id
    values = [relevance(relevance_features(query, [h]), model_id=model_id) for h in hits]
    value = values[0] if values else -1.0
    rows = [
        {
            "id": h.passage.passage_id,
            "title": h.title,
            "uri": h.uri,
            "score": round(h.score, 4),
            "relevance": round(v, 4),
            "used": value >= 0 and v >= 0,
            "heading": h.passage.heading,
            "text": h.passage.text,
        }
        for h, v in zip(hits, values, strict=True)
    ]
    if args.json:
        print(json.dumps({"relevance": round(value, 4), "hits": rows}))
        return 0
    if not rows:
        print("the knowledge base is empty: tms kb ingest PATH")
        return 0
    for r in rows:
        mark = " " if r["used"] else "-"
        print(f"{mark} {r['score']:.3f}  {r['title']}\n         {r['uri']}  ({r['id']})")
    print(f"(relevance gate {value:+.2f}: '-' marks a document a draft would not cite)")
    return 0


def _list(args: argparse.Namespace) -> int:
    docs = knowledge_base().documents()
    if args.json:
        print(json.dumps({"documents": [asdict(d) for d in docs]}))
    elif not docs:
        print("the knowledge base is empty: tms kb ingest PATH")
    else:
        for d in docs:
            print(f"{d.doc_id}  {d.passages:>3} passages  {d.uri}")
        print(f"{len(docs)} documents")
    return 0


def _remove(args: argparse.Namespace) -> int:
    import os

    # A path (even of a file already deleted) is matched by where it was ingested from.
    keys = [
        os.path.abspath(k)
        if not k.startswith(("https://", "http://")) and (os.sep in k or os.path.exists(k))
        else k
        for k in args.keys
    ]
    removed = knowledge_base().remove(keys)
    if args.json:
        print(json.dumps({"removed": removed}))
    elif removed:
        print("\n".join(f"removed {doc_id}" for doc_id in removed))
    else:
        print("nothing matched: give a document id (tms kb list), its link, or its file or folder")
        return 1
    return 0
