#!/usr/bin/env python3
"""Print the state of the chatbot database as JSON, for the tests to compare before and after.

    MONGO_URI=mongodb://... chatbot_state.py [database]

Per collection: the document count, the SHA-256 of the sorted SHA-256 digests of every document's
raw BSON (any change to any document, field order or type changes it), and the index list
(every field of listIndexes but the format version). Read with pymongo, independently of the
rewind modules it checks.
"""

import hashlib
import json
import os
import sys

import pymongo
from bson import json_util
from bson.raw_bson import RawBSONDocument

client = pymongo.MongoClient(os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/"), directConnection=True,
                             document_class=RawBSONDocument)
db = client[sys.argv[1] if len(sys.argv) > 1 else "chatbot"]
state = {}
for name in sorted(db.list_collection_names()):
    if name.startswith("system."):
        continue
    digests = sorted(hashlib.sha256(doc.raw).digest() for doc in db[name].find())
    indexes = []
    for index in db[name].list_indexes():
        spec = json.loads(json_util.dumps(dict(index)))
        spec.pop("v", None)
        spec.pop("ns", None)
        spec["key"] = list(spec["key"].items())
        indexes.append(spec)
    state[name] = {"count": len(digests), "sha256": hashlib.sha256(b"".join(digests)).hexdigest(),
                   "indexes": sorted(indexes, key=lambda spec: spec["name"])}
print(json.dumps({"collections": state}, sort_keys=True))
