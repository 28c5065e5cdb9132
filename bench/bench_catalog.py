"""Catalog signature verification: sign the reference catalog, then time verify + parse as the agent does."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import RUNS, SPEC, row, time_call


def main() -> list[str]:
    from agent.catalog.model import catalog_from_json
    from agent.catalog.verify import load_catalog_bytes, read_public_key
    from media_builder.catalog_build import signed_bytes
    from media_builder.signing import keygen

    with tempfile.TemporaryDirectory() as tmp:
        private, public = keygen(Path(tmp) / "keys")
        catalog = catalog_from_json((SPEC / "catalog.json").read_bytes(), file="catalog.json")
        blob = signed_bytes(catalog, private)
        key = read_public_key(public)
        t = time_call(lambda: load_catalog_bytes(blob, file="catalog.json", trust_key=key), runs=max(RUNS, 50))
        big = catalog.to_dict()
        big["lists"]["applications"] = [
            {"id": f"app{i}", "label": f"Application {i}", "value": f"App {i}"} for i in range(10000)
        ]
        from agent.catalog.model import catalog_from_dict

        big_blob = signed_bytes(catalog_from_dict(big), private)
        t_big = time_call(lambda: load_catalog_bytes(big_blob, file="big.json", trust_key=key))
    return [
        row("verify + parse the reference catalog", f"{t * 1000:.2f} ms", "", f"{len(blob)} bytes signed"),
        row("verify + parse 10,000 applications", f"{t_big * 1000:.1f} ms", "", f"{len(big_blob) // 1024} KiB signed"),
    ]


if __name__ == "__main__":
    for line in main():
        print(line)
