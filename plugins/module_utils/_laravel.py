# -*- coding: utf-8 -*-
# Copyright: rewind developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Laravel migrations a database rollback must reverse, and whether it may.

Migration files are PHP. They are read here with a small tokenizer, never run: running a
migration to learn what it does would be the change itself. The tokenizer knows PHP's
comments, strings (heredoc and nowdoc too), variables and names: enough to find ``up()`` and
``down()`` and the schema calls in them. A call it does not recognise is reported as such,
and never counted as safe.

What ``up()`` did decides what reversing it (``down()``) does to data::

    call in up()                                         kind         reversing it
    Schema::create                                       additive     drops the new table (its rows)
    Schema::table: a column type ($t->string('c'))       additive     drops the new column (its values)
    Schema::table: index, unique, foreign, primary       additive     drops the index
    Schema::table: ->change()                            alter        changes the column back [1]
    Schema::table: dropIndex, dropForeign, dropUnique,   alter        re-creates the index
      dropPrimary, renameIndex
    Schema::rename, $t->rename, $t->renameColumn         rename       renames back
    Schema::drop, dropIfExists, dropColumns,             destructive  brings back an EMPTY table or
      $t->dropColumn, dropTimestamps, dropSoftDeletes,                column: the data is only in
      dropRememberToken, dropMorphs,                                  the pre-deploy backup
      dropConstrainedForeignId, $t->drop
    DB::table(…)->delete()/truncate(), DB::delete,       destructive  cannot bring the rows back
      SQL with DROP TABLE/COLUMN, TRUNCATE, DELETE FROM
    SQL CREATE TABLE/INDEX, ALTER TABLE … ADD            additive     as above
    SQL ALTER TABLE … DROP INDEX/MODIFY/CHANGE           alter        as above
    SQL RENAME TABLE, ALTER TABLE … RENAME               rename       as above
    DB::table(…)->insert()/update()…, DB::insert,        data         only what down() does [2]
      DB::update, other SQL
    $this->helper(…), Artisan::call(…)                   unknown      rewind cannot tell

[1] A narrowed type may already have cut values; rewind notes it.
[2] Rows changed by a migration are put back only if its down() does so; rewind notes it.

A migration without ``down()``, or with an empty one, is *irreversible*: ``migrate:rollback``
would delete its row from the ``migrations`` table and leave the schema as it is.

:func:`plan` compares the current and the target release: the migrations the target does
not have (from the release folders and the release ledger) that the database has run, in
the order ``migrate:rollback`` reverses them (batch, then name, newest first). It returns
the ``--step`` count, which must reverse exactly those, and whether a partial rollback
may do it: never for an irreversible or unreadable migration, and for a destructive one
only when the caller allows it. Otherwise the choice is ``restore``: the pre-deploy backup.

Pure Python, no Ansible imports: it unit-tests in milliseconds.
"""

from __future__ import annotations

import os
import re

NONE, REVERSE, RESTORE = "none", "reverse", "restore"
ADDITIVE, ALTER, RENAME, DESTRUCTIVE, DATA, UNKNOWN = "additive", "alter", "rename", "destructive", "data", "unknown"


class LaravelError(Exception):
    """A release or migration rewind cannot read; the message names the file and what to do."""


# --- the tokenizer --------------------------------------------------------------------------

class Token:
    __slots__ = ("kind", "value", "line")

    def __init__(self, kind, value, line):
        self.kind, self.value, self.line = kind, value, line

    def __repr__(self):
        return "Token(%s, %r, %d)" % (self.kind, self.value, self.line)

    def is_(self, kind, value=None):
        return self.kind == kind and (value is None or self.value == value)


_IDENT = re.compile(r"[A-Za-z_\x80-\uffff\\][A-Za-z0-9_\x80-\uffff\\]*")
_NUMBER = re.compile(r"\d[\d_]*(\.\d+)?")
_OPERATORS = ("?->", "...", "::", "->", "=>", "??", "==", "!=", "<=", ">=", "&&", "||")
_HEREDOC = re.compile(r"<<<[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1\r?\n")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$", "0": "\0"}


def _unescape_double(raw):
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw)


def tokenize(source):
    """PHP source → tokens: ``id`` (names, keywords, namespaced names), ``var`` ($name),
    ``str`` (the string's value), ``num`` and ``op``. Comments, whitespace and inline HTML
    are dropped. Raises LaravelError on an unterminated string or comment."""
    tokens, i, line, n = [], 0, 1, len(source)
    start = source.find("<?php")
    if start >= 0:
        line += source.count("\n", 0, start)
        i = start + 5

    def fail(what):
        raise LaravelError("unterminated %s starting on line %d" % (what, line))

    while i < n:
        c = source[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif source.startswith("//", i) or (c == "#" and not source.startswith("#[", i)):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                fail("comment")
            line += source.count("\n", i, end)
            i = end + 2
        elif source.startswith("?>", i):
            end = source.find("<?php", i)
            if end < 0:
                break
            line += source.count("\n", i, end)
            i = end + 5
        elif c == "'" or c == '"':
            j = i + 1
            while j < n and source[j] != c:
                j += 2 if source[j] == "\\" else 1
            if j >= n:
                fail("string")
            raw = source[i + 1:j]
            value = re.sub(r"\\([\\'])", r"\1", raw) if c == "'" else _unescape_double(raw)
            tokens.append(Token("str", value, line))
            line += raw.count("\n")
            i = j + 1
        elif source.startswith("<<<", i) and _HEREDOC.match(source, i):
            match = _HEREDOC.match(source, i)
            label, body_start = match.group(2), match.end()
            end = re.compile(r"^[ \t]*" + re.escape(label) + r"\b", re.M).search(source, body_start)
            if end is None:
                fail("heredoc <<<%s" % label)
            body = source[body_start:end.start()].rstrip("\r\n")
            indent = len(end.group(0)) - len(end.group(0).lstrip(" \t"))
            if indent:  # PHP 7.3+: the closing marker's indentation is removed from every line
                body = "\n".join(row[indent:] for row in body.split("\n"))
            tokens.append(Token("str", body if match.group(1) == "'" else _unescape_double(body), line))
            line += source.count("\n", i, end.end())
            i = end.end()
        elif c == "$" and i + 1 < n and _IDENT.match(source, i + 1):
            match = _IDENT.match(source, i + 1)
            tokens.append(Token("var", "$" + match.group(0), line))
            i = match.end()
        elif _IDENT.match(source, i):
            match = _IDENT.match(source, i)
            tokens.append(Token("id", match.group(0), line))
            i = match.end()
        elif c.isdigit():
            match = _NUMBER.match(source, i)
            tokens.append(Token("num", match.group(0), line))
            i = match.end()
        else:
            op = next((o for o in _OPERATORS if source.startswith(o, i)), c)
            tokens.append(Token("op", op, line))
            i += len(op)
    return tokens


# --- structure: functions, calls, arguments ----------------------------------------------

_OPEN = {"(": ")", "[": "]", "{": "}"}


def _match(tokens, index):
    """Index of the bracket closing the one at ``index``."""
    opener = tokens[index].value
    closer, depth = _OPEN[opener], 0
    for j in range(index, len(tokens)):
        tok = tokens[j]
        if tok.kind == "op" and tok.value in _OPEN:
            depth += 1
        elif tok.kind == "op" and tok.value in _OPEN.values():
            depth -= 1
            if depth == 0:
                if tok.value != closer:
                    raise LaravelError("line %d: %s closed by %s" % (tok.line, opener, tok.value))
                return j
    raise LaravelError("line %d: %s is never closed" % (tokens[index].line, opener))


def _args(tokens, index):
    """The arguments of the call whose ``(`` is at index: (list of token lists, index after ``)``)."""
    end = _match(tokens, index)
    args, current, depth = [], [], 0
    for tok in tokens[index + 1:end]:
        if tok.kind == "op" and tok.value in _OPEN:
            depth += 1
        elif tok.kind == "op" and tok.value in _OPEN.values():
            depth -= 1
        if depth == 0 and tok.is_("op", ","):
            args.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        args.append(current)
    return args, end + 1


def _strings(arg):
    """The string literals of one argument: 'c' → [c], ['a', 'b'] → [a, b]; [] for anything else."""
    if len(arg) == 1 and arg[0].kind == "str":
        return [arg[0].value]
    if (arg and arg[0].is_("op", "[")) or (len(arg) > 1 and arg[0].is_("id", "array") and arg[1].is_("op", "(")):
        return [t.value for t in arg if t.kind == "str"]
    return []


def method_body(tokens, name):
    """The tokens of method ``name``'s body (between its braces), or None when it has none."""
    for i in range(len(tokens) - 2):
        if tokens[i].is_("id", "function") and tokens[i + 1].kind == "id" \
                and tokens[i + 1].value.lower() == name and tokens[i + 2].is_("op", "("):
            j = _match(tokens, i + 2) + 1
            while j < len(tokens) and not tokens[j].is_("op", "{"):
                if tokens[j].is_("op", ";"):  # abstract or interface method: no body
                    return None
                j += 1
            if j >= len(tokens):
                return None
            return tokens[j + 1:_match(tokens, j)]
    return None


def _closure_body(arg):
    """(parameter variable, body tokens) of a ``function (Blueprint $t) {…}`` or ``fn ($t) => …``."""
    for i, tok in enumerate(arg):
        if tok.kind == "id" and tok.value.lower() in ("function", "fn") and i + 1 < len(arg) \
                and arg[i + 1].is_("op", "("):
            close = _match(arg, i + 1)
            params = [t.value for t in arg[i + 2:close] if t.kind == "var"]
            rest = arg[close + 1:]
            if tok.value.lower() == "fn":
                arrow = next((k for k, t in enumerate(rest) if t.is_("op", "=>")), None)
                return (params[0] if params else None), (rest[arrow + 1:] if arrow is not None else [])
            brace = next((k for k, t in enumerate(rest) if t.is_("op", "{")), None)
            if brace is None:
                return None, []
            return (params[0] if params else None), rest[brace + 1:_match(rest, brace)]
    return None, []


def _chain(tokens, index):
    """From ``->`` at index: the method calls that follow, [(name, args, line)], and the end index."""
    calls = []
    while index + 1 < len(tokens) and tokens[index].kind == "op" and tokens[index].value in ("->", "?->") \
            and tokens[index + 1].kind == "id":
        name, line = tokens[index + 1].value, tokens[index + 1].line
        if index + 2 < len(tokens) and tokens[index + 2].is_("op", "("):
            args, index = _args(tokens, index + 2)
        else:
            args, index = [], index + 2
        calls.append((name, args, line))
    return calls, index


# --- classification --------------------------------------------------------------------------

_DROP_COLUMNS = {"dropcolumn": None, "removecolumn": None, "droptimestamps": ["created_at", "updated_at"],
                 "droptimestampstz": ["created_at", "updated_at"], "dropsoftdeletes": ["deleted_at"],
                 "dropsoftdeletestz": ["deleted_at"], "dropremembertoken": ["remember_token"],
                 "dropmorphs": None, "dropconstrainedforeignid": None}
_DROP_INDEXES = {"dropindex", "dropunique", "dropprimary", "dropforeign", "dropspatialindex", "dropfulltext",
                 "renameindex"}
_ADD_INDEXES = {"index", "unique", "primary", "foreign", "spatialindex", "fulltext", "rawindex"}
_TABLE_META = {"engine", "charset", "collation", "temporary", "comment"}
_DATA_WRITES = {"insert", "insertorignore", "insertgetid", "insertusing", "update", "updateorinsert", "upsert",
                "increment", "decrement"}
_SQL_DESTRUCTIVE = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN)|TRUNCATE|DELETE\s+FROM|ALTER\s+TABLE\s+\S+\s+DROP\s+"
    r"(?!(INDEX|KEY|CONSTRAINT|FOREIGN|PRIMARY|CHECK|DEFAULT)\b))", re.IGNORECASE)
_SQL_ADDITIVE = re.compile(r"^\s*(CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX)|ALTER\s+TABLE\s+\S+\s+ADD\b)", re.IGNORECASE)
_SQL_RENAME = re.compile(r"^\s*(RENAME\s+TABLE|ALTER\s+TABLE\s+\S+\s+RENAME\b)", re.IGNORECASE)
_SQL_ALTER = re.compile(r"^\s*(ALTER\s+TABLE\s+\S+\s+(DROP|MODIFY|CHANGE|ALTER)\b|DROP\s+INDEX\b)", re.IGNORECASE)


class Operation:
    """One schema or data change of a migration's up()."""

    __slots__ = ("kind", "summary", "line", "drops_on_reverse")

    def __init__(self, kind, summary, line, drops_on_reverse=None):
        self.kind, self.summary, self.line = kind, summary, line
        self.drops_on_reverse = drops_on_reverse  # what reversing removes: "table t" / "column t.c"

    def as_dict(self):
        return {"kind": self.kind, "summary": self.summary, "line": self.line}


def _sql_kind(sql):
    if _SQL_DESTRUCTIVE.search(sql):
        return DESTRUCTIVE
    if _SQL_ADDITIVE.match(sql):
        return ADDITIVE
    if _SQL_RENAME.match(sql):
        return RENAME
    if _SQL_ALTER.match(sql):
        return ALTER
    return DATA


def _blueprint_ops(table, var, body):
    """The operations of a Schema::table closure: one per ``$table->…;`` statement."""
    ops = []
    for i, tok in enumerate(body):
        if not (tok.is_("var", var) and i + 1 < len(body) and body[i + 1].is_("op", "->")):
            continue
        if i > 0 and not (body[i - 1].kind == "op" and body[i - 1].value in (";", "{", "}")):
            continue  # $table used inside an expression, not a statement of its own
        calls, _ = _chain(body, i + 1)
        if not calls:
            continue
        name, args, line = calls[0]
        key, modifiers = name.lower(), {c[0].lower() for c in calls[1:]}
        first = _strings(args[0]) if args else []
        if key in _DROP_COLUMNS:
            columns = first or _DROP_COLUMNS[key] or ["(%s)" % name]
            if key == "dropcolumn" and len(args) > 1:
                columns = [s for arg in args for s in _strings(arg)]
            if key == "dropmorphs" and first:
                columns = ["%s_type" % first[0], "%s_id" % first[0]]
            ops.append(Operation(DESTRUCTIVE, "drops column %s" % ", ".join("%s.%s" % (table, c) for c in columns),
                                 line))
        elif key in ("drop", "dropifexists"):
            ops.append(Operation(DESTRUCTIVE, "drops table %s" % table, line))
        elif key == "renamecolumn":
            names = [s for arg in args[:2] for s in _strings(arg)]
            ops.append(Operation(RENAME, "renames column %s.%s" % (table, " to ".join(names) or "?"), line))
        elif key == "rename":
            ops.append(Operation(RENAME, "renames table %s to %s" % (table, (first or ["?"])[0]), line))
        elif key in _DROP_INDEXES:
            ops.append(Operation(ALTER, "%s on %s (%s)" % (name, table, ", ".join(first) or "?"), line))
        elif key in _ADD_INDEXES:
            ops.append(Operation(ADDITIVE, "adds %s on %s (%s)" % (name, table, ", ".join(first) or "?"), line))
        elif key in _TABLE_META:
            continue
        elif "change" in modifiers:
            ops.append(Operation(ALTER, "changes column %s.%s to %s (a narrower type may have cut values)"
                                 % (table, (first or ["?"])[0], name), line))
        else:
            column = first[0] if first else "(%s)" % name
            ops.append(Operation(ADDITIVE, "adds column %s.%s (%s)" % (table, column, name), line,
                                 "column %s.%s" % (table, column)))
    return ops


def _schema_call(tokens, i):
    """Operations of ``Schema::…`` at tokens[i] (the ``Schema`` name), and the index after it."""
    j = i + 2
    method = tokens[j].value if j < len(tokens) and tokens[j].kind == "id" else ""
    if method.lower() == "connection" and j + 1 < len(tokens) and tokens[j + 1].is_("op", "("):
        _, j = _args(tokens, j + 1)
        if j + 1 < len(tokens) and tokens[j].is_("op", "->") and tokens[j + 1].kind == "id":
            j += 1
            method = tokens[j].value
    if j + 1 >= len(tokens) or not tokens[j + 1].is_("op", "("):
        return [], j + 1
    args, end = _args(tokens, j + 1)
    key, line = method.lower(), tokens[j].line
    table = (_strings(args[0]) or ["?"])[0] if args else "?"
    if key == "create":
        return [Operation(ADDITIVE, "creates table %s" % table, line, "table %s" % table)], end
    if key == "table":
        var, body = _closure_body(args[1]) if len(args) > 1 else (None, [])
        if var is None:
            return [Operation(UNKNOWN, "changes table %s in a way rewind cannot read (no closure)" % table,
                              line)], end
        return _blueprint_ops(table, var, body), end
    if key in ("drop", "dropifexists"):
        return [Operation(DESTRUCTIVE, "drops table %s" % table, line)], end
    if key == "dropcolumns":
        columns = _strings(args[1]) if len(args) > 1 else []
        return [Operation(DESTRUCTIVE, "drops column %s" % ", ".join(
            "%s.%s" % (table, c) for c in columns or ["?"]), line)], end
    if key == "rename":
        target = (_strings(args[1]) or ["?"])[0] if len(args) > 1 else "?"
        return [Operation(RENAME, "renames table %s to %s" % (table, target), line)], end
    if key in ("dropalltables", "dropallviews", "dropalltypes"):
        return [Operation(DESTRUCTIVE, "drops every table (%s)" % method, line)], end
    return [], end  # hasTable, hasColumn, disableForeignKeyConstraints …: no change of their own


def _db_call(tokens, i):
    """Operations of ``DB::…`` at tokens[i] (the ``DB`` name), and the index after it."""
    j = i + 2
    if j >= len(tokens) or tokens[j].kind != "id":
        return [], j
    method, line = tokens[j].value, tokens[j].line
    args, end = _args(tokens, j + 1) if j + 1 < len(tokens) and tokens[j + 1].is_("op", "(") else ([], j + 1)
    key = method.lower()
    if key == "connection":
        if end < len(tokens) and tokens[end].is_("op", "->") and end + 1 < len(tokens):
            # DB::connection(…)->x(…) reads as DB::x(…): tokens[end - 1 + 2] is x.
            return _db_call(tokens, end - 1)
        return [], end
    if key in ("statement", "unprepared", "delete", "insert", "update", "affectingstatement"):
        sql = (_strings(args[0]) or [""])[0] if args else ""
        if not sql:
            return [Operation(UNKNOWN, "runs SQL rewind cannot read (DB::%s with a computed string)" % method,
                              line)], end
        kind = DESTRUCTIVE if key == "delete" else DATA if key in ("insert", "update") else _sql_kind(sql)
        return [Operation(kind, "runs SQL: %s" % " ".join(sql.split())[:120], line)], end
    if key == "table":
        table = (_strings(args[0]) or ["?"])[0] if args else "?"
        calls, end = _chain(tokens, end)
        names = [c[0].lower() for c in calls]
        if "delete" in names or "truncate" in names:
            return [Operation(DESTRUCTIVE, "deletes rows of %s (DB::table()->%s)" % (
                table, "truncate" if "truncate" in names else "delete"), line)], end
        writes = [c[0] for c in calls if c[0].lower() in _DATA_WRITES]
        if writes:
            return [Operation(DATA, "writes rows of %s (DB::table()->%s); only down() can undo it"
                              % (table, writes[0]), line)], end
        return [], end
    return [], end


def read_operations(body):
    """The operations in the tokens of up()."""
    ops, i = [], 0
    while i < len(body):
        tok = body[i]
        nxt = body[i + 1] if i + 1 < len(body) else None
        if tok.kind == "id" and nxt is not None and nxt.is_("op", "::"):
            name = tok.value.lstrip("\\").rsplit("\\", 1)[-1]
            if name == "Schema":
                found, i = _schema_call(body, i)
                ops.extend(found)
                continue
            if name == "DB":
                found, i = _db_call(body, i)
                ops.extend(found)
                continue
            if name == "Artisan" and i + 2 < len(body) and body[i + 2].is_("id", "call"):
                ops.append(Operation(UNKNOWN, "runs an artisan command (Artisan::call)", tok.line))
        elif tok.is_("var", "$this") and nxt is not None and nxt.is_("op", "->") and i + 3 < len(body) \
                and body[i + 2].kind == "id" and body[i + 3].is_("op", "("):
            ops.append(Operation(UNKNOWN, "calls $this->%s(), which rewind cannot read" % body[i + 2].value,
                                 tok.line))
        i += 1
    return ops


class Migration:
    """One migration file, read: its name (the file name without .php), up()'s operations, down()."""

    def __init__(self, name, path, operations, has_down, down_empty):
        self.name, self.path, self.operations = name, path, operations
        self.has_down, self.down_empty = has_down, down_empty

    @property
    def kinds(self):
        return sorted({op.kind for op in self.operations})

    @property
    def reversible(self):
        return self.has_down and not self.down_empty

    @property
    def destructive(self):
        return any(op.kind == DESTRUCTIVE for op in self.operations)

    @property
    def readable(self):
        return not any(op.kind == UNKNOWN for op in self.operations)

    @property
    def reversing_drops(self):
        """What running down() removes, with the data written into it since: tables and columns."""
        return [op.drops_on_reverse for op in self.operations if op.drops_on_reverse]

    def as_dict(self):
        return {"name": self.name, "path": self.path, "kinds": self.kinds, "reversible": self.reversible,
                "destructive": self.destructive, "readable": self.readable,
                "reversing_drops": self.reversing_drops, "operations": [op.as_dict() for op in self.operations]}


def read_migration(path):
    """Read one migration file. Raises LaravelError naming the file when it cannot."""
    name = os.path.basename(path)[:-4] if path.endswith(".php") else os.path.basename(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tokens = tokenize(handle.read())
        up = method_body(tokens, "up")
        if up is None:
            raise LaravelError("no up() method")
        down = method_body(tokens, "down")
        ops = read_operations(up)
    except LaravelError as exc:
        raise LaravelError("cannot read migration %s: %s" % (path, exc))
    return Migration(name, path, ops, down is not None, not down)


# --- migrate:status ---------------------------------------------------------------------------

_STATUS_ROW_8 = re.compile(r"^\|\s*(Yes|No|Y|N)\s*\|\s*(\S+)\s*\|\s*(\d*)\s*\|\s*$")
_STATUS_ROW_9 = re.compile(r"^\s*(\S+)\s+\.+\s+(?:\[(\d+)\]\s+)?(Ran|Pending)\s*$")


def parse_status(text):
    """``artisan migrate:status`` output → [{name, ran, batch}] in the order printed.

    Reads Laravel 8's table (``| Yes | 2025_… | 1 |``) and Laravel 9+'s dotted lines
    (``2025_… ........ [1] Ran``). "Migration table not found." reads as nothing run.
    Raises LaravelError when the text has no row and does not say the table is missing.
    """
    rows = []
    for line in (text or "").splitlines():
        match = _STATUS_ROW_8.match(line)
        if match:
            ran = match.group(1) in ("Yes", "Y")
            rows.append({"name": match.group(2), "ran": ran, "batch": int(match.group(3)) if ran else None})
            continue
        match = _STATUS_ROW_9.match(line)
        if match:
            ran = match.group(3) == "Ran"
            rows.append({"name": match.group(1), "ran": ran,
                         "batch": int(match.group(2)) if ran and match.group(2) else None})
    if not rows and not re.search(r"migration table not found|no migrations found", text or "", re.IGNORECASE):
        raise LaravelError("cannot read the output of artisan migrate:status (no migration rows in it): %r"
                           % (text or "")[:300])
    return rows


def rollback_order(rows):
    """The run migrations in the order ``migrate:rollback`` reverses them: batch, then name, newest first."""
    ran = [r for r in rows if r["ran"]]
    return sorted(ran, key=lambda r: (r["batch"] or 0, r["name"]), reverse=True)


# --- planning ---------------------------------------------------------------------------------

def migration_files(release_dir, migrations_path="database/migrations"):
    """{name: path} of a release's migration files; None when the release has no such folder."""
    folder = os.path.join(release_dir, migrations_path)
    if not os.path.isdir(folder):
        return None
    return {f[:-4]: os.path.join(folder, f) for f in sorted(os.listdir(folder))
            if f.endswith(".php") and os.path.isfile(os.path.join(folder, f))}


def ledger_delta(releases, current, target):
    """(migrations of the releases recorded after ``target`` up to ``current``, migrations recorded up to
    ``target``), from the ledger's releases; (None, None) when either release is not in it.

    Releases in between that are marked bad were rolled back (a full rollback restores the database
    and flags them), so their migrations do not count; the database's status has the last word."""
    ids = [r.get("id") for r in releases or []]
    if current not in ids or target not in ids or ids.index(target) >= ids.index(current):
        return None, None
    first, last = ids.index(target), ids.index(current)
    between = [r for r in releases[first + 1:last] if not r.get("bad")] + [releases[last]]
    after = [m for r in between for m in r.get("migrations") or []]
    upto = [m for r in releases[:first + 1] for m in r.get("migrations") or []]
    return after, upto


def plan(current_dir, target_dir, status=None, releases=None, current_release=None, target_release=None,
         migrations_path="database/migrations", allow_destructive=False):
    """Which migrations reversing the current release to the target one means, and whether a partial
    (database) rollback may run ``migrate:rollback --step=<steps>`` for them.

    ``status`` is the text of ``artisan migrate:status`` (what the database has run); without it
    every migration the target lacks counts as run. ``releases`` are the ledger's entries, each
    with the ``migrations`` its deployment ran. Returns a dict: choice (none, reverse, restore),
    steps, revert (names, in the order they are reversed), migrations (details of each),
    reasons (why not reverse), notes, warnings, pending (migrations of the current release's
    folder the database has not run; with status only).
    """
    current_files = migration_files(current_dir, migrations_path)
    if current_files is None:
        raise LaravelError("the current release %s has no %s folder; is that the release's root?"
                           % (current_dir, migrations_path))
    target_files = migration_files(target_dir, migrations_path) if target_dir else None
    after, upto = ledger_delta(releases, current_release, target_release)
    warnings, notes, reasons = [], [], []

    if target_files is not None:
        target_known = set(target_files)
        candidates = set(current_files) - target_known
        if after is not None and set(after) - target_known != candidates:
            only_ledger = sorted(set(after) - target_known - candidates)
            only_files = sorted(candidates - set(after))
            warnings.append("the ledger and the release folders disagree on the migrations since %s%s%s; "
                            "planning with both" % (
                                target_release or target_dir,
                                ": only in the ledger " + ", ".join(only_ledger) if only_ledger else "",
                                ": only in the folders " + ", ".join(only_files) if only_files else ""))
            candidates |= set(only_ledger)
    elif after is not None:
        target_known = set(upto)
        candidates = set(after) - target_known
        notes.append("the target release %s is not on disk: its migrations are taken from the ledger"
                     % (target_release or target_dir))
    else:
        raise LaravelError("cannot tell which migrations the target release has: %s has no %s folder and "
                           "the ledger does not record both releases (current %s, target %s)"
                           % (target_dir, migrations_path, current_release, target_release))

    if status is not None:
        rows = parse_status(status)
        order = rollback_order(rows)
        ran = {r["name"] for r in order}
        revert = [r["name"] for r in order if r["name"] not in target_known]
        never_ran = sorted(candidates - ran)
        if never_ran:
            notes.append("not run, so nothing to reverse: %s" % ", ".join(never_ran))
        top = [r["name"] for r in order[:len(revert)]]
        if top != revert:
            kept = [name for name in top if name not in revert]
            reasons.append("migrate:rollback --step=%d would reverse %s, which the target release needs, because "
                           "it ran after %s (batch order); reversing step by step cannot undo only the new "
                           "migrations" % (len(revert), ", ".join(kept), ", ".join(
                               name for name in revert if name not in top) or revert[-1]))
        pending = sorted(name for name in current_files if name not in ran)
    else:
        revert = sorted(candidates, reverse=True)
        pending = None

    migrations = []
    for name in revert:
        path = current_files.get(name)
        if path is None:
            reasons.append("%s was run but is not in the current release's %s: migrate:rollback cannot reverse it"
                           % (name, migrations_path))
            continue
        migration = read_migration(path)
        migrations.append(migration)
        if not migration.reversible:
            reasons.append("%s has %s down(): reversing it would only forget it ran and leave the schema as it is"
                           % (name, "an empty" if migration.has_down else "no"))
        for op in migration.operations:
            if op.kind == DESTRUCTIVE and not allow_destructive:
                reasons.append("%s %s (line %d): the data is gone, and reversing it brings back an empty %s"
                               % (name, op.summary, op.line, "table" if "table" in op.summary else "column"))
            elif op.kind == DESTRUCTIVE:
                warnings.append("%s %s (line %d): reversing it anyway (destructive allowed); the old data "
                                "comes back only from the pre-deploy backup" % (name, op.summary, op.line))
            elif op.kind == UNKNOWN and not allow_destructive:
                reasons.append("%s %s (line %d): rewind cannot tell what reversing it does"
                               % (name, op.summary, op.line))
            elif op.kind in (DATA, ALTER, UNKNOWN):
                notes.append("%s %s (line %d)" % (name, op.summary, op.line))
        if migration.reversing_drops:
            notes.append("reversing %s drops %s: what was written there since the deployment is kept only in "
                         "the pre-rollback dump" % (name, ", ".join(migration.reversing_drops)))

    choice = RESTORE if reasons else REVERSE if revert else NONE
    return {"choice": choice, "steps": len(revert), "revert": revert,
            "migrations": [m.as_dict() for m in migrations], "reasons": reasons, "notes": notes,
            "warnings": warnings, "pending": pending}
