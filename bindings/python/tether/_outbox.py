"""The persistent outbox of :class:`tether.Device`: accepted messages that survive a
power loss, in an SQLite file (the standard library's ``sqlite3``).

Every message is committed to the store before ``publish`` returns and removed when
its outcome arrives; a restarted device publishes what the store still holds. The
component keeps the queue and gives each message an id for one run; the store
gives each record a durable key (``AUTOINCREMENT``: never reused) and this object
maps the run's ids to it.

Durability: WAL journal with ``synchronous=FULL``. A commit appends the changed
pages to the write-ahead log and fsyncs it once, so ``publish`` pays one fsync (a
rollback journal with FULL pays three or four: the journal, its header, the
database, the journal's deletion), and every log frame carries a checksum over the
log so far: a commit cut by a kill or a power loss fails its checksum at the next
open and that open recovers to the commit before it. ``locking_mode=EXCLUSIVE``
holds the file's lock from the open to the close: a second process is refused
(one store per device), and the log needs no shared-memory file beside it.

A file that is not an intact store is refused with :class:`OutboxError`
(``kind == "damaged"``), naming the file and left as it was: empty, not SQLite,
cut short (not a whole number of pages, or fewer pages than its header counts),
failing ``PRAGMA integrity_check``, or an SQLite file of something else (the
header's ``application_id`` is tether's), and so is a log left without its
store (SQLite would replay it onto a new file). A new store is made under a temporary
name and renamed into place, so a crash while making it never leaves an empty
file where a store should be. SQLite keeps no checksum of a page's contents: a
flipped byte inside a record that leaves the structure intact is not detected.

The same layout is read and written by the C client (``bindings/c``): a store is
not tied to the language that made it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from ._errors import OutboxError

__all__ = ["Outbox", "OutboxError", "Record"]

#: The header's ``application_id`` of a tether outbox ("tOBX").
APPLICATION_ID = 0x744F4258
#: The layout's version (``user_version``).
LAYOUT = 1

_SCHEMA = (
    "CREATE TABLE messages (key INTEGER PRIMARY KEY AUTOINCREMENT, "
    "topic TEXT NOT NULL, payload BLOB NOT NULL)",
)
_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Record:
    """A message still waiting for its outcome, as the store holds it."""

    key: int
    topic: str
    payload: bytes


class Outbox:
    """An open store. :meth:`open` makes one (or a new file) and gives the records
    left by an earlier run, in key order.

    Calls are serialized by a lock; the device calls them from its runner."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db: sqlite3.Connection | None = db
        self.path = path
        self._keys: dict[int, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> tuple[Outbox, list[Record]]:
        """Open the store at ``path`` (a new one when there is no file). Raises
        :class:`OutboxError` when it is damaged, in use or cannot be read."""
        p = Path(path)
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            wal = p.with_name(p.name + "-wal")
            if wal.exists():
                # SQLite would replay that log onto a new file.
                raise OutboxError("damaged", p, f"the store file is missing but its log {wal} "
                                                "is there; move the log aside too") from None
            _create(p)
            size = -1
        except OSError as err:
            raise OutboxError("storage", p, f"cannot read: {err.strerror}") from None
        if size == 0:
            raise OutboxError("damaged", p, "the file is empty")
        if size > 0:
            _check_file(p, size)
        db = _connect(p)
        try:
            records = _load(db, p)
        except BaseException:
            db.close()
            raise
        return cls(db, p), records

    def store(self, topic: str, payload: bytes) -> int:
        """Write a message and commit it: its durable key. Done before the component
        sees the message; nothing is stored when it raises."""
        with self._lock:
            db = self._live()
            try:
                cur = db.execute("INSERT INTO messages (topic, payload) VALUES (?, ?)",
                                 (topic, payload))
            except sqlite3.Error as err:
                raise _classify(self.path, err) from None
            key = cur.lastrowid
            assert key is not None
            return int(key)

    def bind(self, key: int, message: int) -> None:
        """The component accepted record ``key`` as message ``message`` of this run."""
        with self._lock:
            self._keys[message] = key

    def key_of(self, message: int) -> int | None:
        """The durable key of this run's message ``message``."""
        with self._lock:
            return self._keys.get(message)

    def remove(self, key: int) -> None:
        """Remove record ``key`` and commit (the component refused it)."""
        with self._lock:
            self._remove(key)

    def finish(self, message: int) -> int | None:
        """Message ``message`` has its outcome: remove its record (committed before
        the outcome is reported). Its key, or ``None`` for a message this outbox
        never held. When it raises, the record stays (a restart sends it again)."""
        with self._lock:
            key = self._keys.get(message)
            if key is None:
                return None
            self._remove(key)
            del self._keys[message]
            return key

    def keep(self, message: int) -> int | None:
        """Forget this run's id of a record that stays in the store (kept at a stop)."""
        with self._lock:
            return self._keys.pop(message, None)

    def __len__(self) -> int:
        """Records held now, over all runs."""
        with self._lock:
            try:
                row = self._live().execute("SELECT count(*) FROM messages").fetchone()
            except sqlite3.Error as err:
                raise _classify(self.path, err) from None
            return int(row[0])

    def records(self) -> list[Record]:
        """Every record held now, in key order."""
        with self._lock:
            try:
                return _records(self._live())
            except sqlite3.Error as err:
                raise _classify(self.path, err) from None

    def close(self) -> None:
        """Close the store (the log is checkpointed into the file). Idempotent."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r}, bound={len(self._keys)})"

    def _live(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError("storage", self.path, "the outbox was closed")
        return self._db

    def _remove(self, key: int) -> None:
        try:
            self._live().execute("DELETE FROM messages WHERE key = ?", (key,))
        except sqlite3.Error as err:
            raise _classify(self.path, err) from None


def _connect(path: Path) -> sqlite3.Connection:
    """A connection holding the file's lock; nothing is written before the checks."""
    try:
        # Autocommit (each statement commits); no busy wait: a held lock is refused.
        db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as err:
        raise _classify(path, err) from None
    try:
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        # Reads the header and takes the lock, writing nothing.
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as err:
        db.close()
        raise _classify(path, err) from None
    return db


def _load(db: sqlite3.Connection, path: Path) -> list[Record]:
    """Check an opened store (inside the BEGIN of :func:`_connect`), then make it
    durable: WAL, synchronous=FULL."""
    try:
        app = db.execute("PRAGMA application_id").fetchone()[0]
        if app != APPLICATION_ID:
            db.execute("ROLLBACK")
            raise OutboxError("damaged", path,
                              f"an SQLite file, but not a tether outbox (application_id "
                              f"{app:#x}, not {APPLICATION_ID:#x})")
        check = [row[0] for row in db.execute("PRAGMA integrity_check(5)")]
        if check != ["ok"]:
            db.execute("ROLLBACK")
            raise OutboxError("damaged", path, "integrity check: " + "; ".join(check))
        version = db.execute("PRAGMA user_version").fetchone()[0]
        columns = [row[1] for row in db.execute("PRAGMA table_info(messages)")]
        if version != LAYOUT or columns != ["key", "topic", "payload"]:
            db.execute("ROLLBACK")
            raise OutboxError("damaged", path, f"not a tether outbox of layout {LAYOUT} "
                                               f"(user_version {version}, columns {columns})")
        records = _records(db)
        db.execute("COMMIT")
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise OutboxError("storage", path, "SQLite cannot use a write-ahead log here")
        db.execute("PRAGMA synchronous=FULL")
        return records
    except sqlite3.Error as err:
        raise _classify(path, err) from None


def _records(db: sqlite3.Connection) -> list[Record]:
    rows = db.execute("SELECT key, topic, payload FROM messages ORDER BY key").fetchall()
    return [Record(int(k), str(t), bytes(p)) for k, t, p in rows]


def _check_file(path: Path, size: int) -> None:
    """What SQLite would read past or treat as a new database: refused first."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as err:
        raise OutboxError("storage", path, f"cannot read: {err.strerror}") from None
    if len(head) < 100:
        if _MAGIC.startswith(head[:16]):
            raise OutboxError("damaged", path, f"cut short: {size} bytes, less than a header")
        raise OutboxError("damaged", path, "not an SQLite database")
    if head[:16] != _MAGIC:
        raise OutboxError("damaged", path, "not an SQLite database")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        raise OutboxError("damaged", path, f"the header's page size {page} is not valid")
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return  # the log holds the newest pages; SQLite's own checks judge the pair
    if size % page:
        raise OutboxError("damaged", path,
                          f"cut short: {size} bytes is not a whole number of {page}-byte pages")
    pages = int.from_bytes(head[28:32], "big")
    # The header's page count is valid when its change counter matches.
    if head[24:28] == head[92:96] and pages * page > size:
        raise OutboxError("damaged", path,
                          f"cut short: {size} bytes, the header counts {pages} pages of {page}")


def _create(path: Path) -> None:
    """A new, empty store at ``path``: made under a temporary name, then renamed."""
    tmp = path.with_name(path.name + ".new")
    try:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"),
                         tmp.with_name(tmp.name + "-journal")):
            # A leftover from a crash while making the store held nothing yet.
            if leftover.exists():
                leftover.unlink()
        db = sqlite3.connect(tmp, timeout=0, isolation_level=None)
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN")
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={LAYOUT}")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("COMMIT")
        finally:
            db.close()  # checkpoints the log into the file and removes it
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        # The rename itself must survive a power loss.
        fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except sqlite3.Error as err:
        raise _classify(path, err) from None
    except OSError as err:
        raise OutboxError("storage", path, f"cannot create: {err.strerror or err}") from None


def _classify(path: Path, err: sqlite3.Error) -> OutboxError:
    text = str(err)
    name = getattr(err, "sqlite_errorname", "")
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in text:
        return OutboxError("in-use", path, text)
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or any(
            s in text for s in ("malformed", "not a database")):
        return OutboxError("damaged", path, text)
    return OutboxError("storage", path, text)
