#!/usr/bin/env python3
"""Create the demo's MongoDB users when they are missing; print {"created": [...]}.

    REWIND_PW=... CHATBOT_PW=... mongo_users.py [--auth]

rewind (root: the rollback's login: backup, restore, clusterMonitor, dropping collections) and
chatbot (readWrite on chatbot: the application's login). Passwords come from the environment,
never the command line. With --auth the server already requires authentication: log in as rewind.
"""

import json
import os
import sys
from urllib.parse import quote

import pymongo

uri = "mongodb://127.0.0.1:27017/"
if "--auth" in sys.argv:
    uri = "mongodb://rewind:%s@127.0.0.1:27017/?authSource=admin" % quote(os.environ["REWIND_PW"], safe="")
client = pymongo.MongoClient(uri, directConnection=True, serverSelectionTimeoutMS=10000)
existing = {u["user"] for u in client.admin.command("usersInfo")["users"]}
created = []
for user, password, roles in (("rewind", os.environ["REWIND_PW"], ["root"]),
                              ("chatbot", os.environ["CHATBOT_PW"], [{"role": "readWrite", "db": "chatbot"}])):
    if user not in existing:
        client.admin.command("createUser", user, pwd=password, roles=roles)
        created.append(user)
print(json.dumps({"created": created}))
