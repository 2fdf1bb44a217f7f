#!/usr/bin/env python3
"""Extracts the REST shapes cloudscan's Azure adapter reads from pinned Azure SDK for Python
wheels into one JSON file (providers/azure/tests/azure_spec_shapes.rs reads it).

The SDK models are generated from azure-rest-api-specs: every model class maps its REST JSON
keys in `_attribute_map` ({"python_name": {"key": "properties.x", "type": "T"}}) and every enum
class lists its values. The files are parsed with `ast`, never imported, so nothing of the
wheels runs and no dependency is needed.

Usage: extract_azure_shapes.py WHEEL_DIR OUT.json
"""
import ast
import hashlib
import json
import os
import sys
import zipfile

# (shape set, wheel name prefix, version, models package inside the wheel[, wheel tag])
APIS = [
    ("containerservice@2025-07-01", "azure_mgmt_containerservice", "39.1.0",
     "azure/mgmt/containerservice/models/"),
    ("authorization@2022-04-01", "azure_mgmt_authorization", "4.0.0",
     "azure/mgmt/authorization/v2022_04_01/models/"),
    ("managedidentity@2024-11-30", "azure_mgmt_msi", "7.1.0",
     "azure/mgmt/msi/v2024_11_30/models/"),
    ("insights@2021-05-01-preview", "azure_mgmt_monitor", "6.0.2",
     "azure/mgmt/monitor/v2021_05_01_preview/models/"),
    ("compute@2024-03-02", "azure_mgmt_compute", "34.1.0",
     "azure/mgmt/compute/v2024_03_02/models/"),
    ("resources@2022-12-01", "azure_mgmt_resource", "23.3.0",
     "azure/mgmt/resource/subscriptions/v2022_12_01/models/"),
    ("managementgroups@2021-04-01", "azure_mgmt_managementgroups", "1.0.0",
     "azure/mgmt/managementgroups/models/", "py2.py3-none-any"),
]


def literal_str(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def base_names(cls):
    out = []
    for b in cls.bases:
        if isinstance(b, ast.Name):
            out.append(b.id)
        elif isinstance(b, ast.Attribute):
            out.append(b.attr)
    return out


def parse(source, models, enums):
    tree = ast.parse(source)
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        bases = base_names(cls)
        if "Enum" in bases:
            values = []
            for stmt in cls.body:
                if isinstance(stmt, ast.Assign) and literal_str(stmt.value) is not None:
                    values.append(stmt.value.value)
            enums[cls.name] = sorted(set(values))
            continue
        for stmt in cls.body:
            target = None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
            elif isinstance(stmt, ast.AnnAssign):
                target = stmt.target
            if not (isinstance(target, ast.Name) and target.id == "_attribute_map"):
                continue
            if not isinstance(stmt.value, ast.Dict):
                raise SystemExit("%s._attribute_map is not a literal" % cls.name)
            keys = {}
            for v in stmt.value.values:
                if not isinstance(v, ast.Dict):
                    continue
                entry = {literal_str(k): literal_str(x) for k, x in zip(v.keys, v.values)}
                if entry.get("key") is None:
                    continue
                # msrest escapes a literal dot in a key as "\\."; a bare dot means nesting.
                keys[entry["key"]] = entry.get("type") or ""
            models[cls.name] = {"bases": bases, "keys": keys}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    wheel_dir, out_path = sys.argv[1], sys.argv[2]
    doc = {"format": 1, "generated_by": "providers/azure/tests/spec/extract_azure_shapes.py",
           "packages": [], "apis": {}}
    for entry in APIS:
        api, prefix, version, models_dir = entry[:4]
        tag = entry[4] if len(entry) > 4 else "py3-none-any"
        name = "%s-%s-%s.whl" % (prefix, version, tag)
        path = os.path.join(wheel_dir, name)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        models, enums = {}, {}
        with zipfile.ZipFile(path) as z:
            files = [n for n in z.namelist()
                     if n.startswith(models_dir) and n.count("/") == models_dir.count("/")
                     and n.endswith(".py") and not n.endswith(("__init__.py", "_patch.py"))]
            if not files:
                raise SystemExit("%s has no model files under %s" % (name, models_dir))
            for n in sorted(files):
                parse(z.read(n).decode("utf-8"), models, enums)
        if not models:
            raise SystemExit("%s: no model with an _attribute_map under %s" % (name, models_dir))
        doc["packages"].append({"wheel": name, "sha256": digest, "models": models_dir, "api": api})
        doc["apis"][api] = {"models": models, "enums": enums}
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
