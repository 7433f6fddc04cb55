#!/usr/bin/env python3
"""Validates a multi-document Kubernetes YAML file against the JSON schemas shipped in
k8s-schemas/ (a strict subset of the v1.29 API: see its description). One line per error:
`FILE: document N (Kind/name): path: message`; exit 1 on any, 2 on usage errors.

Usage: k8s_validate.py SCHEMA.json MANIFEST.yaml
"""
import json
import sys

import jsonschema
import yaml


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schemas = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    errors = []
    if not docs:
        errors.append(f"{argv[2]}: no documents")
    for i, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            errors.append(f"{argv[2]}: document {i}: not a mapping")
            continue
        kind = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        name = (doc.get("metadata") or {}).get("name", "?")
        schema = schemas["kinds"].get(kind)
        if schema is None:
            errors.append(f"{argv[2]}: document {i} ({kind}/{name}): no schema for this kind")
            continue
        schema = dict(schema, definitions=schemas["definitions"])
        validator = jsonschema.Draft7Validator(schema)
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in e.absolute_path) or "(top)"
            errors.append(f"{argv[2]}: document {i} ({doc.get('kind')}/{name}): {path}: {e.message}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
