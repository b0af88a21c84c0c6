"""The hand-written knowledge base (examples/kb) and its benchmark tickets (bench/data/kb) are well formed.

The data is the truth the retrieval benchmark of issue 30 scores against, so a broken link between a ticket
and its article, a key fact the article does not contain, or a pair outside the catalog would silently
measure the wrong thing.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.catalog import SCENARIOS
from tests.paths import REPO_ROOT

KB_DIR = REPO_ROOT / "examples" / "kb"
TICKETS = REPO_ROOT / "bench" / "data" / "kb" / "tickets.jsonl"
FORMATS = {".md", ".html", ".txt"}
URL_PREFIX = "https://help.example.com/articles/"
PAIRS = {(s.product, s.issue_type) for s in SCENARIOS}
ISSUE_TYPES_OF: dict[str, set[str]] = {}
for _product, _issue in PAIRS:
    ISSUE_TYPES_OF.setdefault(_product, set()).add(_issue)


@dataclass(frozen=True)
class Article:
    path: Path
    title: str
    url: str
    products: tuple[str, ...]
    issue_types: tuple[str, ...]
    updated: str
    text: str  # what a reader sees: the body without markup


class _HtmlArticle(HTMLParser):
    """Collects <title>, the canonical link, the kb:* meta tags and the visible text of an HTML article."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.canonical = ""
        self.meta: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href", "")
        elif tag == "meta" and a.get("name", "").startswith("kb:"):
            self.meta.setdefault(a["name"][3:], []).append(a.get("content", ""))
        elif tag not in {"meta", "link", "br", "img"}:
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        elif "article" in self._in and not {"style", "script"} & set(self._in):
            self.text.append(data)


def _parse_front_matter(path: Path) -> Article:
    raw = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)\Z", raw, re.S)
    assert match, f"{path.name}: no YAML front matter between --- lines"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path.name}: front matter is not a mapping"
    return Article(
        path=path,
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        products=tuple(meta.get("products") or ()),
        issue_types=tuple(meta.get("issue_types") or ()),
        updated=str(meta.get("updated", "")),
        text=match.group(2),
    )


def _parse_html(path: Path) -> Article:
    parser = _HtmlArticle()
    parser.feed(path.read_text(encoding="utf-8"))
    updated = parser.meta.get("updated", [""])
    return Article(
        path=path,
        title=html.unescape(parser.title).strip(),
        url=parser.canonical,
        products=tuple(parser.meta.get("product", ())),
        issue_types=tuple(parser.meta.get("issue_type", ())),
        updated=updated[0],
        text=" ".join(parser.text),
    )


@cache
def articles() -> dict[str, Article]:
    found = {}
    for path in sorted(KB_DIR.iterdir()):
        if path.name == "README.md":
            continue
        assert path.suffix in FORMATS, f"{path.name}: not a Markdown, HTML or text article"
        found[path.name] = _parse_html(path) if path.suffix == ".html" else _parse_front_matter(path)
    return found


@cache
def tickets() -> list[dict[str, Any]]:
    lines = TICKETS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.parametrize("name", sorted(articles()))
def test_every_article_has_a_title_an_https_link_and_catalog_products(name: str) -> None:
    article = articles()[name]
    assert article.title.strip(), f"{name}: empty title"
    assert article.url == URL_PREFIX + article.path.stem, f"{name}: url must be {URL_PREFIX}<file stem>"
    assert article.products, f"{name}: no products"
    assert set(article.products) <= ISSUE_TYPES_OF.keys(), f"{name}: product not in the catalog"
    assert article.issue_types, f"{name}: no issue types"
    for issue in article.issue_types:
        assert any(issue in ISSUE_TYPES_OF[p] for p in article.products), f"{name}: {issue} not in catalog"
    assert re.fullmatch(r"2026-\d\d-\d\d", article.updated), f"{name}: updated must be a 2026 date"
    assert 150 <= len(_words(article.text)) <= 650, f"{name}: body has {len(_words(article.text))} words"
    assert "key fact" in article.text.lower(), f"{name}: no 'Key fact' paragraph"


def test_knowledge_base_has_52_articles_in_all_three_formats_over_40_products() -> None:
    kb = articles()
    suffixes = Counter(a.path.suffix for a in kb.values())
    assert len(kb) >= 52
    assert suffixes[".html"] >= 3 and suffixes[".txt"] >= 2
    assert len({a.products[0] for a in kb.values()}) >= 40
    assert len({a.url for a in kb.values()}) == len(kb)
    assert len({a.title for a in kb.values()}) == len(kb)
    # several articles per product, answering different questions, make retrieval discriminate
    assert max(Counter(a.products[0] for a in kb.values()).values()) >= 4


def test_the_trust_fixtures_are_named_in_the_readme_and_carry_their_plants() -> None:
    readme = (KB_DIR / "README.md").read_text(encoding="utf-8")
    named = {n for n in articles() if n in readme}
    injected = [n for n in named if "ignore previous instructions" in articles()[n].text.lower()]
    with_phone = [n for n in named if re.search(r"\+\d[\d ()-]{8,}\d", articles()[n].text)]
    with_email = [n for n in named if re.search(r"[\w.-]+@[\w-]+\.[\w.]+", articles()[n].text)]
    assert len(injected) == 1
    assert [n for n in with_phone if n in with_email and n not in injected]


def test_tickets_are_enough_with_unique_ids_and_alternating_splits() -> None:
    rows = tickets()
    assert len(rows) >= 210
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"k\d{3}", i) for i in ids)
    ordered = sorted(rows, key=lambda r: int(r["id"][1:]))
    assert [int(r["id"][1:]) for r in ordered] == list(range(1, len(rows) + 1))
    for i, row in enumerate(ordered):
        assert row["split"] == ("calibration" if i % 2 == 0 else "test"), row["id"]


def test_every_ticket_is_well_formed_and_in_the_catalog() -> None:
    fields = {"id", "subject", "description", "product", "issue_type", "answer", "key_fact", "split"}
    for row in tickets():
        assert set(row) == fields, row["id"]
        assert row["subject"].strip() and row["description"].strip(), row["id"]
        assert (row["product"], row["issue_type"]) in PAIRS, row["id"]
        assert (row["answer"] is None) == (row["key_fact"] is None), row["id"]


def test_every_answer_names_an_article_that_contains_the_key_fact() -> None:
    kb = articles()
    for row in tickets():
        if row["answer"] is None:
            continue
        assert row["answer"] in kb, f"{row['id']}: no article {row['answer']}"
        article = kb[row["answer"]]
        assert row["product"] in article.products, f"{row['id']}: product not covered by {row['answer']}"
        assert row["key_fact"].strip(), row["id"]
        assert row["key_fact"].lower() in article.text.lower(), f"{row['id']}: key fact not in the article"


def test_answerable_tickets_spread_over_every_article_and_some_tickets_have_no_answer() -> None:
    rows = tickets()
    per_article = Counter(r["answer"] for r in rows if r["answer"])
    assert sum(per_article.values()) >= 165
    assert sum(1 for r in rows if r["answer"] is None) >= 40
    assert set(per_article) == set(articles()), set(articles()) - set(per_article)
    assert all(2 <= n <= 6 for n in per_article.values()), per_article
    for split in ("calibration", "test"):
        half = [r for r in rows if r["split"] == split]
        assert sum(1 for r in half if r["answer"] is None) >= 15, split


def _share_copied(ticket: dict[str, Any], article: Article, run: int = 6) -> float:
    """The share of a ticket's words that sit in runs of `run` words also found in its article."""
    source = f" {' '.join(_words(article.text))} "
    words = _words(ticket["subject"] + " " + ticket["description"])
    covered: set[int] = set()
    for i in range(len(words) - run + 1):
        if f" {' '.join(words[i : i + run])} " in source:
            covered.update(range(i, i + run))
    return len(covered) / len(words)


def test_tickets_are_written_in_their_own_words_not_copied_from_the_article() -> None:
    kb = articles()
    descriptions = [r["description"] for r in tickets()]
    assert len(set(descriptions)) == len(descriptions)
    openings = Counter(" ".join(_words(d)[:3]) for d in descriptions)
    assert openings.most_common(1)[0][1] <= 6, openings.most_common(3)
    # customers paste the error message, which the article quotes too; the rest must be their own words
    shares = {r["id"]: _share_copied(r, kb[r["answer"]]) for r in tickets() if r["answer"]}
    worst = max(shares, key=lambda i: shares[i])
    assert shares[worst] <= 0.5, f"{worst}: {shares[worst]:.0%} of its words repeat the article"
    assert sum(shares.values()) / len(shares) <= 0.1
