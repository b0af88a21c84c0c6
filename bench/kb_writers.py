"""Several writers of kb/index.json at once (issue 30.2; docs/knowledge-base.md "Several writers").

    .venv/bin/python bench/kb_writers.py [--writers 2 4 8] [--each 5]

examples/kb/ is ingested into the real store (pipeline/adapters/knowledge_store.py on moto's S3, in process,
with the local stack's patch that applies a conditional PutObject atomically, as S3 does); then for each
number of writers, that many threads, each with its own store (as separate functions would have), add
`--each` precedents back to back with no pause. Printed per row: precedents stored, writers that gave up
after contract/defaults.KB_WRITE_ATTEMPTS conditional writes (KnowledgeBaseConflictError), other errors
(moto in process can fail a HEAD that races a put of the same key: "I/O operation on closed file", a moto
gap S3 does not have), the 412s met, and how many stored precedents are missing from the index afterwards
(must be 0). Vectors come from a small
hashing embedder (no model to load): the contention does not depend on what the vectors say.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "examples" / "kb"
BUCKET = "tms-bench-kb-writers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--each", type=int, default=5, help="precedents each writer adds")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)

    from moto import mock_aws

    from contract import defaults
    from contract.clients import aws_client
    from contract.errors import KnowledgeBaseConflictError
    from local.moto import emulation, patching
    from pipeline.adapters.knowledge_store import INDEX_KEY, S3KnowledgeBase
    from pipeline.domain.knowledge import Document
    from tests.fakes.embedders import WordEmbedder
    from tools.kb import read_document

    embedder = WordEmbedder()
    with mock_aws(), patching.applied(emulation.S3_CONDITIONAL_PUTS):
        s3 = aws_client("s3", region="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        articles = [read_document(p) for p in sorted(ARTICLES.glob("*.md")) if p.name != "README.md"]
        S3KnowledgeBase(BUCKET, s3, embedder).ingest(articles)
        size = s3.head_object(Bucket=BUCKET, Key=INDEX_KEY)["ContentLength"]
        print(
            f"index: {len(articles)} articles, {size / 1e6:.2f} MB; {defaults.KB_WRITE_ATTEMPTS} attempts a write\n"
        )
        print(
            "| writers | precedents tried | stored | gave up | other errors | 412s | stored but missing | seconds |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for writers in args.writers:
            stored: list[str] = []
            gave_up = conflicts = errors = 0
            lock = threading.Lock()

            def write(
                w: int, writers: int = writers, stored: list[str] = stored, lock: threading.Lock = lock
            ) -> None:
                nonlocal gave_up, conflicts, errors
                kb = S3KnowledgeBase(BUCKET, s3, embedder)
                for n in range(args.each):
                    doc = Document(
                        doc_id=f"precedent-W{writers}-{w}-{n}",
                        title=f"resolved W{writers}-{w}-{n}",
                        uri=f"https://support.example.com/tickets/W{writers}-{w}-{n}",
                        origin=f"precedent:W{writers}-{w}-{n}",
                        text=f"The customer wrote about case {w}-{n}. The reply an agent sent: step {n}.",
                    )
                    try:
                        kb.ingest([doc])
                    except KnowledgeBaseConflictError:
                        with lock:
                            gave_up += 1
                        continue
                    except Exception:  # counted: moto in-process can fail a read racing a put
                        with lock:
                            errors += 1
                        continue
                    with lock:
                        stored.append(doc.doc_id)
                with lock:
                    conflicts += kb.conflicts

            start = time.perf_counter()
            threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
            index = json.loads(s3.get_object(Bucket=BUCKET, Key=INDEX_KEY)["Body"].read())["documents"]
            missing = [d for d in stored if d not in index]
            print(
                f"| {writers} | {writers * args.each} | {len(stored)} | {gave_up} | {errors} | {conflicts} | "
                f"{len(missing)} | {seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
