# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Django migrations a rollback must undo, and how: code only, reverse them, or restore.

This runs on the managed host, where Ansible's Python may not be able to import Django, so
migration files are read with :mod:`ast` and never imported: nothing in them runs.

Every operation gets a kind and three facts:

- *compatible*: the old code (the target release) works on the schema the operation left
  (it ignores a new nullable column, a new table, a new index);
- *reversible*: Django can run it backwards;
- *destructive*: it lost data that running it backwards cannot bring back.

    operation                                         kind         compatible  reversible  destructive
    CreateModel                                       additive     yes         yes         no
    AddField nullable, db_default, M2M or generated   additive     yes         yes         no
    AddField NOT NULL                                 additive     no [1]      yes         no
    AddIndex                                          additive     yes         yes         no
    AddConstraint                                     additive     no [2]      yes         no
    AlterModelOptions, AlterModelManagers,            state        yes         yes         no
      SeparateDatabaseAndState without database operations
    AlterIndexTogether, RenameIndex,                  alter        yes         yes         no
      AlterModelTableComment
    AlterField, AlterUniqueTogether, AlterConstraint, alter        no          yes         no
      RemoveIndex, RemoveConstraint
    AlterOrderWithRespectTo                           alter        no          yes         when it drops _order
    RenameField, RenameModel, AlterModelTable         rename       no          yes         no
    RemoveField, DeleteModel                          destructive  no          yes         yes
    RunPython, RunSQL                                 data         no          with a      RunSQL that
                                                                               reverse     deletes data [3]
    anything else                                     unknown      no          no          no

[1] Django sets a field's ``default`` in Python and drops the database default once the column
    is added, so inserts from code that does not know the column fail.
[2] A new constraint may reject writes the old code makes.
[3] ``DROP TABLE``, ``DROP COLUMN``, ``ALTER TABLE t DROP c``, ``TRUNCATE`` or ``DELETE FROM``
    in the forward SQL, where the file writes it out.

The database operations of a SeparateDatabaseAndState are classified one by one; its state
operations change no table. Operations are recognised only when they come from
``django.db.migrations`` (or ``django.contrib.postgres.operations``), so a project's own
operation that happens to be called AddField is ``unknown``.

:func:`plan` compares two release trees and chooses:

- ``code_only`` when no migration was applied since the target release, or every one is
  compatible (and the caller allows it);
- ``reverse`` when every one is reversible and none destructive, and the ``migrate`` commands
  would unapply exactly those migrations;
- ``restore`` otherwise,

with one reason per migration that decided it.
"""

from __future__ import annotations

import ast
import heapq
import os
import re

CODE_ONLY, REVERSE, RESTORE = "code_only", "reverse", "restore"
ZERO = "zero"

_DJANGO_MODULES = ("django.db.migrations.", "django.contrib.postgres.operations.")
_SKIP_DIRS = frozenset(("node_modules", "__pycache__", "site-packages", "dist-packages"))
_DATA_LOSS_SQL = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN)|TRUNCATE|DELETE\s+FROM|ALTER\s+TABLE\s+\S+\s+DROP\s+"
    r"(?!(INDEX|KEY|CONSTRAINT|FOREIGN|PRIMARY|CHECK|DEFAULT)\b))", re.IGNORECASE)


class MigrationError(Exception):
    """A release or migration rewind cannot plan with; the message names the file and what to do."""


class Operation:
    """One database operation of a migration, classified (see the module's table)."""

    __slots__ = ("op", "kind", "summary", "note", "compatible", "reversible", "destructive", "line")

    def __init__(self, op, kind, summary, note, compatible, reversible, destructive, line):
        self.op, self.kind, self.summary, self.note = op, kind, summary, note
        self.compatible, self.reversible, self.destructive, self.line = compatible, reversible, destructive, line

    def as_dict(self):
        return {key: getattr(self, key) for key in self.__slots__}


class Migration:
    """A migration file: where it is, what it depends on, its classified operations."""

    def __init__(self, app, name, path, dependencies, run_before, replaces, operations):
        self.app, self.name, self.path = app, name, path
        self.dependencies, self.run_before, self.replaces = dependencies, run_before, replaces
        self.operations = operations

    @property
    def key(self):
        return (self.app, self.name)

    @property
    def label(self):
        return "%s.%s" % self.key

    @property
    def compatible(self):
        return all(op.compatible for op in self.operations)

    @property
    def reversible(self):
        return all(op.reversible for op in self.operations)

    @property
    def destructive(self):
        return any(op.destructive for op in self.operations)

    @property
    def kinds(self):
        return list(dict.fromkeys(op.kind for op in self.operations))

    def as_dict(self):
        return {"app": self.app, "name": self.name, "path": self.path, "kinds": self.kinds,
                "compatible": self.compatible, "reversible": self.reversible, "destructive": self.destructive,
                "operations": [op.as_dict() for op in self.operations]}


# --- reading one file -------------------------------------------------------------------

def _imports(tree):
    """Local name -> dotted name, from the module's top-level imports."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".", 1)[0]
                names[alias.asname or head] = alias.name if alias.asname else head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = "%s.%s" % (node.module, alias.name)
    return names


def _dotted(node, names):
    """'django.db.migrations.AddField' for ``migrations.AddField`` after ``from django.db import migrations``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(names.get(node.id, node.id))
    return ".".join(reversed(parts))


def _word(node):
    """An argument as a word for a summary: a string as written, an ``Index(name=...)`` by its name, else '?'."""
    if isinstance(node, ast.Call):
        node = next((kw.value for kw in node.keywords if kw.arg == "name"), None)
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "?"


class _Words(dict):
    """The arguments of an operation as words, for str.format_map; a missing one reads '?'."""

    def __init__(self, args):
        super().__init__((key, _word(node)) for key, node in args.items())

    def __missing__(self, key):
        return "?"


def _is_none(node):
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


class _Reader:
    """Reads one migration file's Migration class and classifies its operations."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as handle:
                self.tree = ast.parse(handle.read(), filename=path)
        except SyntaxError as exc:
            raise MigrationError("%s line %s: not valid Python (%s), so Django cannot load it either; fix the file "
                                 "in the release" % (path, exc.lineno, exc.msg))
        except (OSError, ValueError) as exc:
            raise MigrationError("cannot read migration %s: %s" % (path, exc))
        self.names = _imports(self.tree)

    def migration(self, app, name, relpath):
        cls = next((n for n in self.tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None)
        if cls is None:
            raise MigrationError("%s: no class Migration, so Django refuses to load it (BadMigrationError); fix the "
                                 "file or move it out of the migrations folder" % self.path)
        attrs = {stmt.targets[0].id: stmt.value for stmt in cls.body if isinstance(stmt, ast.Assign)
                 and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)}
        return Migration(app, name, relpath,
                         dependencies=self.keys(attrs.get("dependencies"), "dependencies"),
                         run_before=self.keys(attrs.get("run_before"), "run_before"),
                         replaces=self.keys(attrs.get("replaces"), "replaces"),
                         operations=self.operations(attrs.get("operations")))

    def keys(self, node, attr):
        """[(app, name)] from a literal list of pairs; swappable_dependency() entries are left out."""
        if node is None:
            return []
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise MigrationError("%s line %d: %s is computed, not written out; rewind reads migrations without "
                                 "running them, so it cannot place this one" % (self.path, node.lineno, attr))
        keys = []
        for item in node.elts:
            if isinstance(item, ast.Call) and (_dotted(item.func, self.names) or "").endswith(".swappable_dependency"):
                continue  # on the app a setting names (AUTH_USER_MODEL), outside the release as a rule
            try:
                app, name = ast.literal_eval(item)
            except (ValueError, TypeError):
                app = name = None
            if not (isinstance(app, str) and isinstance(name, str)):
                raise MigrationError("%s line %d: an entry of %s is not an ('app', 'migration') pair written out in "
                                     "the file" % (self.path, item.lineno, attr))
            keys.append((app, name))
        return keys

    def operations(self, node):
        if node is None:
            return []
        if not isinstance(node, (ast.List, ast.Tuple)):
            return [self.unknown(node, "?", "runs operations built when the file runs")]
        return [op for item in node.elts for op in self.operation(item)]

    def unknown(self, node, op, summary):
        return Operation(op, "unknown", summary, "rewind cannot tell what it does to the data or whether it reverses",
                         False, False, False, node.lineno)

    def operation(self, node):
        if not isinstance(node, ast.Call):
            return [self.unknown(node, "?", "runs an operation built when the file runs")]
        dotted = _dotted(node.func, self.names) or "?"
        op = dotted.rsplit(".", 1)[-1]
        params, classify = _OPERATIONS.get(op, (None, None)) if dotted.startswith(_DJANGO_MODULES) else (None, None)
        if classify is None:
            written = _dotted(node.func, {}) or op
            return [self.unknown(node, op, "runs %s, an operation rewind does not know" % written)]
        if len(node.args) > len(params) or any(isinstance(a, ast.Starred) for a in node.args) or \
                any(kw.arg is None for kw in node.keywords):
            return [self.unknown(node, op, "runs %s with arguments built when the file runs" % op)]
        args = dict(zip(params, node.args))
        args.update((kw.arg, kw.value) for kw in node.keywords)
        return classify(self, op, args, node.lineno)

    def class_name(self, node):
        """'CharField' for ``models.CharField(...)``, 'backfill' for a function, 'a lambda', or '?'."""
        if isinstance(node, ast.Lambda):
            return "a lambda"
        return (_dotted(node.func if isinstance(node, ast.Call) else node, self.names) or "?").rsplit(".", 1)[-1]

    def is_noop(self, node):
        """RunPython.noop, RunSQL.noop or an empty reverse SQL string."""
        return (_dotted(node, self.names) or "").endswith(".noop") or \
            (isinstance(node, ast.Constant) and node.value == "")


# --- classifying operations (the module docstring's table) -------------------------------

_UNUSED = "the old code does not use it"
_NO_RESULT = "it changes no query result"
_ALTERED = ("the old code was written for the previous definition, and reversing fails if rows written since "
            "do not fit it")
_RENAMED = "the old code would look for the old name"
_UNINDEXED = "the old code may need it to be fast enough, and reversing rebuilds it (long on a big table)"
_STATE = "the database is not touched"
_CHANGED = "it changed data the old code may not expect"
_CHANGED_NOOP = _CHANGED + ", and its reverse is a no-op, so those rows stay changed"
_NO_REVERSE = "Django cannot reverse it (IrreversibleError), and what it changed is only in the backup"


def _fixed(kind, compatible, summary, note, destructive=False):
    """A classifier for an operation whose facts do not depend on its arguments; summary is a format string."""
    def classify(reader, op, args, line):
        return [Operation(op, kind, summary.format_map(_Words(args)), note, compatible, True, destructive, line)]
    return classify


def _add_field(reader, op, args, line):
    field = args.get("field")
    keywords = {kw.arg: kw.value for kw in field.keywords} if isinstance(field, ast.Call) else {}
    cls = reader.class_name(field)
    if cls == "ManyToManyField":
        detail, compatible = "many-to-many, a new table", True
    elif cls == "GeneratedField":
        detail, compatible = "generated by the database", True
    elif isinstance(keywords.get("null"), ast.Constant) and keywords["null"].value is True:
        detail, compatible = "nullable", True
    elif "db_default" in keywords:
        detail, compatible = "with a database default", True
    elif "default" in keywords:
        detail, compatible = "NOT NULL; its default is set by Django, not by the database", False
    else:
        detail, compatible = "NOT NULL, no default", False
    summary = "adds field {model_name}.{name} (%s)" % detail
    note = _UNUSED if compatible else "the old code does not set it, so its inserts would fail"
    return [Operation(op, "additive", summary.format_map(_Words(args)), note, compatible, True, False, line)]


def _alter_order(reader, op, args, line):
    words = _Words(args)
    if _is_none(args.get("order_with_respect_to")):
        return [Operation(op, "alter", "stops ordering {name} by a field, dropping its _order column".format_map(words),
                          "the order is gone; reversing would bring the column back with every row at 0",
                          False, True, True, line)]
    return [Operation(op, "alter", "orders {name} by {order_with_respect_to}, adding an _order column"
                      .format_map(words), "the old code does not set _order, so its inserts would fail",
                      False, True, False, line)]


def _data(reader, op, what, reverse, reverse_arg, line):
    """RunPython or RunSQL: reversible when given a reverse; a no-op reverse leaves the changed rows as they are."""
    if _is_none(reverse):
        return [Operation(op, "data", "%s without %s" % (what, reverse_arg), _NO_REVERSE, False, False, False, line)]
    if reader.is_noop(reverse):
        return [Operation(op, "data", "%s with a no-op reverse" % what, _CHANGED_NOOP, False, True, False, line)]
    return [Operation(op, "data", "%s with a %s" % (what, reverse_arg), _CHANGED, False, True, False, line)]


def _run_python(reader, op, args, line):
    what = "runs %s (RunPython)" % reader.class_name(args.get("code"))
    return _data(reader, op, what, args.get("reverse_code"), "reverse_code", line)


def _run_sql(reader, op, args, line):
    sql, reverse = args.get("sql"), args.get("reverse_sql")
    written = " ".join(n.value for n in ast.walk(sql) if isinstance(n, ast.Constant) and isinstance(n.value, str)) \
        if sql is not None else ""
    loss = _DATA_LOSS_SQL.search(written)
    if loss:
        return [Operation(op, "data", "runs SQL (RunSQL) that deletes data: %s" % " ".join(loss.group(0).split()),
                          "the data is gone whatever its reverse_sql does, and only the backup has it",
                          False, not _is_none(reverse), True, line)]
    return _data(reader, op, "runs SQL (RunSQL)", reverse, "reverse_sql", line)


def _separate(reader, op, args, line):
    database = args.get("database_operations")
    if _is_none(database) or (isinstance(database, (ast.List, ast.Tuple)) and not database.elts):
        return [Operation(op, "state", "changes Django's model state only (no database operations)", _STATE,
                          True, True, False, line)]
    return reader.operations(database)


_OPERATIONS = {
    "CreateModel": (("name", "fields", "options", "bases", "managers"),
                    _fixed("additive", True, "creates model {name}", _UNUSED)),
    "AddField": (("model_name", "name", "field", "preserve_default"), _add_field),
    "AddIndex": (("model_name", "index"), _fixed("additive", True, "adds index {index} on {model_name}", _NO_RESULT)),
    "AddConstraint": (("model_name", "constraint"),
                      _fixed("additive", False, "adds constraint {constraint} on {model_name}",
                             "it may reject writes the old code makes")),
    "AlterModelOptions": (("name", "options"), _fixed("state", True, "changes the Django options of {name}", _STATE)),
    "AlterModelManagers": (("name", "managers"), _fixed("state", True, "changes the managers of {name}", _STATE)),
    "AlterIndexTogether": (("name", "index_together"),
                           _fixed("alter", True, "changes the index_together indexes of {name}", _NO_RESULT)),
    "RenameIndex": (("model_name", "new_name", "old_name", "old_fields"),
                    _fixed("alter", True, "renames an index of {model_name} to {new_name}", _NO_RESULT)),
    "AlterModelTableComment": (("name", "table_comment"),
                               _fixed("alter", True, "changes the table comment of {name}", _NO_RESULT)),
    "AlterField": (("model_name", "name", "field", "preserve_default"),
                   _fixed("alter", False, "alters field {model_name}.{name}", _ALTERED)),
    "AlterUniqueTogether": (("name", "unique_together"),
                            _fixed("alter", False, "changes the unique_together constraints of {name}", _ALTERED)),
    "AlterConstraint": (("model_name", "name", "constraint"),
                        _fixed("alter", False, "alters constraint {name} of {model_name}", _ALTERED)),
    "RemoveIndex": (("model_name", "name"),
                    _fixed("alter", False, "removes index {name} from {model_name}", _UNINDEXED)),
    "RemoveConstraint": (("model_name", "name"),
                         _fixed("alter", False, "removes constraint {name} from {model_name}",
                                "the old code may rely on it, and reversing fails if rows written since violate it")),
    "AlterOrderWithRespectTo": (("name", "order_with_respect_to"), _alter_order),
    "RenameField": (("model_name", "old_name", "new_name"),
                    _fixed("rename", False, "renames field {model_name}.{old_name} to {new_name}", _RENAMED)),
    "RenameModel": (("old_name", "new_name"),
                    _fixed("rename", False, "renames model {old_name} to {new_name}", _RENAMED)),
    "AlterModelTable": (("name", "table"), _fixed("rename", False, "renames the table of {name} to {table}", _RENAMED)),
    "RemoveField": (("model_name", "name"),
                    _fixed("destructive", False, "removes field {model_name}.{name}",
                           "the data is gone; reversing would bring back an empty column", destructive=True)),
    "DeleteModel": (("name",),
                    _fixed("destructive", False, "deletes model {name}",
                           "its rows are gone; reversing would bring back an empty table", destructive=True)),
    "RunPython": (("code", "reverse_code", "atomic", "hints", "elidable"), _run_python),
    "RunSQL": (("sql", "reverse_sql", "state_operations", "hints", "elidable"), _run_sql),
    "SeparateDatabaseAndState": (("database_operations", "state_operations"), _separate),
}
# django.contrib.postgres's variants take the same arguments and have the same effect.
_OPERATIONS["AddIndexConcurrently"] = _OPERATIONS["AddIndex"]
_OPERATIONS["RemoveIndexConcurrently"] = _OPERATIONS["RemoveIndex"]


def read_migration(path, app, name, relpath=None):
    """Read ``path``, a migration of ``app``, without running it. Raises MigrationError."""
    return _Reader(path).migration(app, name, relpath or path)


# --- releases ---------------------------------------------------------------------------

def _walk(root):
    """os.walk without virtualenvs, site-packages, node_modules, caches and hidden folders."""
    for parent, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                         and not os.path.exists(os.path.join(parent, d, "pyvenv.cfg")))
        yield parent, files


def find_apps(root):
    """{app label: migrations folder} for every ``<app>/migrations/__init__.py`` under root.

    Third-party apps live in the virtualenv, which is skipped: their migrations are the same on
    both sides of a code rollback. The label is the app's folder name, Django's default (an
    AppConfig.label set in code is not read).
    """
    apps = {}
    for parent, files in _walk(root):
        if os.path.basename(parent) == "migrations" and "__init__.py" in files and parent != root:
            app_dir = os.path.dirname(parent)
            app = os.path.basename(app_dir)
            if app in apps:
                raise MigrationError("two apps would be labelled %s in %s: %s and %s. rewind labels an app by its "
                                     "folder name; rename one of the folders or plan each project root separately"
                                     % (app, root, os.path.dirname(apps[app]), app_dir))
            apps[app] = parent
    return apps


def find_manage_py(root):
    """The folder of the shallowest manage.py under root (where ``migrate`` runs), or None."""
    return next((parent for parent, files in _walk(root) if "manage.py" in files), None)


class Release:
    """The migrations of one release tree and their graph, as Django's loader builds it.

    A squashed migration whose replaced files are all present stands aside for them (Django
    falls back to them when a ``migrate`` target is one of them); one whose replaced files were
    deleted is a node of its own, and dependencies on the replaced names lead to it.
    """

    def __init__(self, root):
        if not os.path.isdir(root):
            raise MigrationError("release %s is not a directory; give the release's project root, for example "
                                 "/srv/app/releases/<id>" % root)
        self.root, self.files = root, {}
        apps = find_apps(root)
        for app, folder in apps.items():
            for entry in sorted(os.listdir(folder)):
                if entry.endswith(".py") and entry[0] not in "_~":
                    path = os.path.join(folder, entry)
                    migration = read_migration(path, app, entry[:-3], os.path.relpath(path, root))
                    self.files[migration.key] = migration
        self.apps = sorted(apps)
        self.known = set(self.files) | {r for m in self.files.values() for r in m.replaces}
        self.nodes, self.replaced_by = {}, {}
        for key, migration in self.files.items():
            if not (migration.replaces and all(r in self.files for r in migration.replaces)):
                self.nodes[key] = migration
                self.replaced_by.update((r, key) for r in migration.replaces)
        self.parents = {key: set() for key in self.nodes}
        self._link()
        self.children = {key: set() for key in self.nodes}
        for key, parents in self.parents.items():
            for parent in parents:
                self.children[parent].add(key)
        self.order = self._toposort()

    def _node(self, key, migration):
        """The node a dependency names, or None for an app outside the release (auth, contenttypes)."""
        key = self.replaced_by.get(key, key)
        if key in self.nodes:
            return key
        app, name = key
        if name in ("__first__", "__latest__"):
            ends = self.roots(app) if name == "__first__" else self.leaves(app)
            return (app, ends[0]) if ends else None
        if app in self.apps:
            raise MigrationError("%s depends on %s.%s, which is not in the release %s, so Django refuses to load "
                                 "it (NodeNotFoundError)" % (os.path.join(self.root, migration.path), app, name,
                                                             self.root))
        return None

    def _link(self):
        """Dependencies inside an app first, so that __first__ and __latest__ elsewhere find their ends."""
        for internal in (True, False):
            for key, migration in self.nodes.items():
                for dep in migration.dependencies:
                    if (dep[0] == key[0]) == internal and dep != (key[0], "__first__"):
                        self._edge(self._node(dep, migration), key)
                if not internal:
                    for before in migration.run_before:
                        self._edge(key, self._node(before, migration))

    def _edge(self, parent, child):
        if parent is not None and child is not None:
            self.parents[child].add(parent)

    def roots(self, app):
        """Migrations of app with no parent in app, Django's root_nodes."""
        return sorted(k[1] for k in self.nodes if k[0] == app and not any(p[0] == app for p in self.parents[k]))

    def leaves(self, app):
        """Migrations of app with no child in app, Django's leaf_nodes."""
        inner = {p for k, parents in self.parents.items() if k[0] == app for p in parents if p[0] == app}
        return sorted(k[1] for k in self.nodes if k[0] == app and k not in inner)

    def descendants(self, key):
        seen, todo = set(), [key]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(self.children[node])
        return seen

    def _toposort(self):
        """The nodes in an order Django could apply them; ties by (app, name), so the order is stable."""
        waiting = {key: len(parents) for key, parents in self.parents.items()}
        ready = [key for key, count in waiting.items() if not count]
        heapq.heapify(ready)
        order = []
        while ready:
            key = heapq.heappop(ready)
            order.append(key)
            for child in self.children[key]:
                waiting[child] -= 1
                if not waiting[child]:
                    heapq.heappush(ready, child)
        if len(order) != len(self.nodes):
            stuck = sorted("%s.%s" % k for k in self.nodes if waiting[k])
            raise MigrationError("circular dependency among the migrations of %s: %s; Django refuses it too"
                                 % (self.root, ", ".join(stuck)))
        return order

    def is_applied(self, key, applied):
        """Whether node key is applied; applied is {(app, name)}, or None for 'every one'."""
        if applied is None or key in applied:
            return True
        replaces = self.nodes[key].replaces
        return bool(replaces) and all(r in applied for r in replaces)


def parse_applied(entries):
    """{(app, name)} from 'app.name' strings or {app, name} dicts (django_migrations rows)."""
    applied = set()
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("app"), str) and isinstance(entry.get("name"), str):
            applied.add((entry["app"], entry["name"]))
        elif isinstance(entry, str) and re.match(r"^[^.\s]+\.[^.\s]+$", entry.strip()):
            applied.add(tuple(entry.strip().split(".")))
        else:
            raise MigrationError("applied[%d] is %r; give 'app.migration' strings or rows with app and name "
                                 "(SELECT app, name FROM django_migrations)" % (index, entry))
    return applied


# --- the decision -----------------------------------------------------------------------

_RESTORE_ADVICE = "restore the pre-deploy backup"


def _sentence(migration, ops, action):
    """One reason: '<app.name> <what the operations do>: <why it matters> — <what to do>'."""
    if not ops:
        return "%s has no operations — nothing to undo" % migration.label
    return "%s %s: %s — %s" % (migration.label, ", ".join(op.summary for op in ops),
                               "; ".join(dict.fromkeys(op.note for op in ops)), action)


def _simulate(release, commands, applied):
    """The nodes ``manage.py migrate <app> <name>`` commands run in order would unapply, and problems.

    Mirrors Django's MigrationExecutor.migration_plan: to zero, everything from the app's roots;
    to an applied migration, everything from its children in the same app; to an unapplied one,
    forwards (a problem here).
    """
    state = {key for key in release.nodes if release.is_applied(key, applied)}
    unapplied, problems = set(), []
    for _manage, _migrate, app, name in commands:
        if name == ZERO:
            starts = [(app, root) for root in release.roots(app)]
        elif (app, name) in state:
            starts = [k for k in release.children[(app, name)] if k[0] == app]
        else:
            problems.append("%s.%s, where the target release ends, is not applied in the database, so `migrate %s "
                            "%s` would apply migrations instead of reversing them" % (app, name, app, name))
            continue
        for start in starts:
            gone = release.descendants(start) & state
            state -= gone
            unapplied |= gone
    return unapplied, problems


def _migrate_targets(current, target, apps):
    """Per app: where the target release ends (a name or zero), the name migrate needs, and problems."""
    targets, names, problems = {}, {}, []
    for app in apps:
        leaves = target.leaves(app)
        if len(leaves) > 1:
            targets[app] = None
            problems.append("the target release has conflicting latest migrations in %s (%s), so Django refuses to "
                            "migrate to it" % (app, ", ".join(leaves)))
            continue
        targets[app] = leaves[0] if leaves else ZERO
        key = (app, targets[app])
        squash = current.replaced_by.get(key)
        if not leaves or key in current.nodes:
            names[app] = targets[app]
        elif squash and all(r in target.known for r in current.nodes[squash].replaces):
            names[app] = squash[1]
        elif squash:
            problems.append("%s.%s, where the target release ends, is inside the squashed migration %s.%s of the "
                            "current release, and migrate cannot stop halfway through it" % (key + squash))
        else:
            problems.append("%s.%s, where the target release ends, is not in the current release: the migration "
                            "histories diverged, and the current code cannot migrate to it" % key)
    return targets, names, problems


def _has(release, migration):
    """Whether release has a migration of another release: as a file, inside a squash, or as the squash's parts."""
    return migration.key in release.known or (
        bool(migration.replaces) and all(r in release.known for r in migration.replaces))


def _reverse_commands(current, target, delta, selected, applied):
    """The migrate commands that undo delta, where each app's target is, and why they would not do (problems)."""
    order = list(dict.fromkeys(m.app for m in reversed(delta)))
    targets, names, problems = _migrate_targets(current, target, order)
    commands = [["manage.py", "migrate", app, names[app]] for app in order if app in names]
    if problems:
        return targets, commands, problems
    unapplied, problems = _simulate(current, commands, applied)
    if problems:
        return targets, commands, problems
    wanted = {m.key for m in delta}
    extra = sorted(unapplied - wanted)
    for what, keys in (("would also unapply %s, which the target release needs",
                        [k for k in extra if k[0] in selected]),
                       ("would also unapply %s, of apps left out of apps",
                        [k for k in extra if k[0] not in selected]),
                       ("would leave %s applied", sorted(wanted - unapplied))):
        if keys:
            problems.append("the migrate commands " + what % ", ".join("%s.%s" % key for key in keys))
    return targets, commands, problems


def _decide(delta, obstacles, problems, allow_code_only, mode, root):
    """(choice, reasons, warnings). obstacles block code_only and reverse; problems block reverse only."""
    blocking = [(m, [op for op in m.operations if not op.reversible or op.destructive]) for m in delta]
    blocking = [(m, ops) for m, ops in blocking if ops]
    if mode == REVERSE and (delta or obstacles):
        refused = [(m, [op for op in ops if not op.reversible]) for m, ops in blocking]
        refused = ["%s (%s line %d) %s: %s" % (m.label, os.path.join(root, m.path), ops[0].line, ops[0].summary,
                                               ops[0].note) for m, ops in refused if ops]
        if refused or obstacles or problems:
            raise MigrationError("refusing to reverse: %s. Restore the pre-deploy backup instead (mode=auto chooses "
                                 "it)." % "; ".join(refused + obstacles + problems))
        return REVERSE, ["mode=reverse: every migration applied since the target release is reversed"], [
            "reversing anyway (mode=reverse): " + _sentence(m, ops, "only the pre-deploy backup has it")
            for m, ops in blocking]
    if not delta and not obstacles:
        return CODE_ONLY, ["no migration of the planned apps was applied after the target release: the schema "
                           "already fits the target code"], []
    incompatible = [(m, [op for op in m.operations if not op.compatible]) for m in delta]
    incompatible = [(m, ops) for m, ops in incompatible if ops]
    if allow_code_only and not incompatible and not obstacles:
        return CODE_ONLY, [_sentence(m, m.operations, "keep the schema; the old code runs on it") for m in delta], []
    if blocking or obstacles or problems:
        return RESTORE, [_sentence(m, ops, _RESTORE_ADVICE) for m, ops in blocking] + [
            "%s — %s" % (reason, _RESTORE_ADVICE) for reason in obstacles + problems], []
    return REVERSE, [_sentence(m, ops, "reverse it") for m, ops in incompatible] or [
        "allow_code_only is false: the migrations are reversed although the old code would run on the new schema"], []


def plan(current_root, target_root, applied=None, apps=None, allow_code_only=True, mode="auto"):
    """Plan the database side of a rollback from the current release to the target one.

    applied: {(app, name)} from django_migrations, or None to take every migration of the current
    release as applied (the deployment ran migrate to the end). apps: app labels to plan (default
    every app found). mode: 'auto', or 'reverse' to reverse even what the old code could run on,
    refusing (MigrationError) when a migration cannot be reversed.

    Returns a dict: choice, reasons, migrations (Migration objects, in an order Django could
    apply them), targets, commands (argv lists to run in order in project_dir, with the current
    release's code; empty unless the choice is reverse), warnings, project_dir. Raises
    MigrationError on a tree it cannot read.
    """
    current, target = Release(current_root), Release(target_root)
    found = sorted(set(current.apps) | set(target.apps))
    if not found:
        raise MigrationError("no <app>/migrations/__init__.py under %s or %s: are these the Django project roots of "
                             "the releases?" % (current_root, target_root))
    unknown_apps = sorted(set(apps or ()) - set(found))
    if unknown_apps:
        raise MigrationError("no app %s with migrations in %s or %s; apps found: %s"
                             % (", ".join(unknown_apps), current_root, target_root, ", ".join(found)))
    selected = set(apps or found)
    new = [key for key in current.order if key[0] in selected and not _has(target, current.nodes[key])]
    delta = [current.nodes[key] for key in new if current.is_applied(key, applied)]
    warnings = ["%s.%s is in the current release but not applied; if its migrate failed halfway on MySQL (no "
                "transactional DDL), the statements that ran are still in the schema: check it by hand" % key
                for key in new if not current.is_applied(key, applied)]
    strays = ["%s.%s is applied in the database but is in neither release: the database is ahead of the current "
              "code, and only the release that has it can reverse it" % key for key in sorted(applied or ())
              if key[0] in selected and key not in current.known and key not in target.known]
    targets, commands, problems = _reverse_commands(current, target, delta, selected, applied)
    choice, reasons, more = _decide(delta, strays, problems, allow_code_only, mode, current_root)
    return {"choice": choice, "reasons": reasons, "migrations": delta, "targets": targets,
            "commands": commands if choice == REVERSE else [], "warnings": warnings + more,
            "project_dir": find_manage_py(current_root)}
