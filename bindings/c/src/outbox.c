/*
 * outbox.c: the persistent outbox of tether_device (options.outbox_path), in an
 * SQLite file. Built with TETHER_WITH_SQLITE (libsqlite3).
 *
 * The layout is the Python client's (bindings/python/tether/_outbox.py), so a
 * store is not tied to the language that made it: one table
 * messages(key INTEGER PRIMARY KEY AUTOINCREMENT, topic, payload), the header's
 * application_id "tOBX" and user_version 1.
 *
 * Durability: WAL with synchronous=FULL. A commit appends its pages to the log and
 * fsyncs once (a rollback journal with FULL costs three or four fsyncs), and each
 * log frame carries a checksum over the log so far, so a commit cut by a kill or
 * a power loss is found and dropped at the next open, which recovers to the
 * commit before it. locking_mode=EXCLUSIVE holds the file's lock from open to
 * close: a second process is refused, and no shared-memory file is needed.
 *
 * A file that is not an intact store is refused and left as it was: empty, not
 * SQLite, cut short (not a whole number of pages, or fewer than its header
 * counts), failing PRAGMA integrity_check, or another application's SQLite file;
 * so is a log (-wal) left without its store, which SQLite would replay onto a new
 * file.
 * A new store is made under a temporary name and renamed into place. SQLite keeps
 * no checksum of a page's contents: a flipped byte inside a record that leaves
 * the structure intact is not detected.
 */
#include "device_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define APPLICATION_ID 0x744F4258 /* "tOBX" */
#define LAYOUT 1

struct tether_outbox {
    sqlite3 *db;
    sqlite3_stmt *insert, *delete_key;
    char *path;
};

static const char MAGIC[16] = "SQLite format 3";

/* The error of a refused open, in the words of the Rust and Python outboxes. */
static void set_damaged(tether_error **err, const char *path, const char *detail) {
    tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path",
                              "outbox %s: the store is damaged (%s); it was left as it is. Move "
                              "it aside to start with an empty outbox (the messages it held "
                              "would not be sent)",
                              path, detail);
}

/* An SQLite failure as an open error: damaged, in use or storage. */
static void set_sqlite(tether_error **err, const char *path, sqlite3 *db, int rc) {
    const char *detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path",
                                  "outbox %s: the store is open in another process (one "
                                  "outbox per device)",
                                  path);
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: set_damaged(err, path, detail); break;
    default:
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path", "outbox %s: %s", path,
                                  detail);
        break;
    }
}

static void say_sqlite(char *why, size_t cap, const char *path, sqlite3 *db) {
    snprintf(why, cap, "outbox %s: %s", path, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

/* One integer from a one-row query; SQLITE_OK or the error. */
static int query_int(sqlite3 *db, const char *sql, long long *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static bool fsync_path(const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* A new, empty store at `path`: made under a temporary name, then renamed. */
static bool create(const char *path, tether_error **err) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) {
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path", "out of memory");
        return false;
    }
    /* A leftover from a crash while making the store held nothing yet. */
    snprintf(tmp, n + 16, "%s.new-wal", path);
    unlink(tmp);
    snprintf(tmp, n + 16, "%s.new-journal", path);
    unlink(tmp);
    snprintf(tmp, n + 16, "%s.new", path);
    unlink(tmp);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    char sql[512];
    snprintf(sql, sizeof sql,
             "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
             "BEGIN; PRAGMA application_id=%d; PRAGMA user_version=%d; "
             "CREATE TABLE messages (key INTEGER PRIMARY KEY AUTOINCREMENT, "
             "topic TEXT NOT NULL, payload BLOB NOT NULL); COMMIT;",
             APPLICATION_ID, LAYOUT);
    if (rc == SQLITE_OK) rc = exec(db, sql);
    if (rc != SQLITE_OK) {
        set_sqlite(err, path, db, rc);
        sqlite3_close(db);
        unlink(tmp);
        free(tmp);
        return false;
    }
    sqlite3_close(db); /* checkpoints the log into the file and removes it */
    bool ok = fsync_path(tmp, O_RDONLY) && rename(tmp, path) == 0;
    if (ok) {
        /* The rename itself must survive a power loss: sync the folder. */
        char *dir = strdup(path);
        const char *folder = ".";
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) {
            slash[slash == dir ? 1 : 0] = '\0';
            folder = dir;
        }
        ok = dir && fsync_path(folder, O_RDONLY);
        free(dir);
    }
    if (!ok)
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path",
                                  "outbox %s: cannot create: %s", path, strerror(errno));
    free(tmp);
    return ok;
}

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned long be32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* What SQLite would read past, or take for a new database: refused first. */
static bool check_file(const char *path, long long size, tether_error **err) {
    if (size == 0) {
        set_damaged(err, path, "the file is empty");
        return false;
    }
    unsigned char head[100];
    FILE *f = fopen(path, "rb");
    if (!f) {
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path", "outbox %s: cannot read: %s",
                                  path, strerror(errno));
        return false;
    }
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    char detail[160];
    if (got < sizeof head) {
        bool prefix = memcmp(head, MAGIC, got < 16 ? got : 16) == 0;
        if (prefix)
            snprintf(detail, sizeof detail, "cut short: %lld bytes, less than a header", size);
        set_damaged(err, path, prefix ? detail : "not an SQLite database");
        return false;
    }
    if (memcmp(head, MAGIC, 16) != 0) {
        set_damaged(err, path, "not an SQLite database");
        return false;
    }
    unsigned long page = be16(head + 16);
    if (page == 1) page = 65536;
    if (page < 512 || (page & (page - 1))) {
        snprintf(detail, sizeof detail, "the header's page size %lu is not valid", page);
        set_damaged(err, path, detail);
        return false;
    }
    /* With a log beside it, the log holds the newest pages: SQLite's checks judge. */
    size_t n = strlen(path);
    char *wal = malloc(n + 5);
    struct stat st;
    bool has_log = false;
    if (wal) {
        snprintf(wal, n + 5, "%s-wal", path);
        has_log = stat(wal, &st) == 0 && st.st_size > 0;
        free(wal);
    }
    if (has_log) return true;
    if (size % (long long)page != 0) {
        snprintf(detail, sizeof detail,
                 "cut short: %lld bytes is not a whole number of %lu-byte pages", size, page);
        set_damaged(err, path, detail);
        return false;
    }
    unsigned long pages = be32(head + 28);
    /* The header's page count is valid when its change counter matches. */
    if (memcmp(head + 24, head + 92, 4) == 0 && (long long)pages * (long long)page > size) {
        snprintf(detail, sizeof detail, "cut short: %lld bytes, the header counts %lu pages of %lu",
                 size, pages, page);
        set_damaged(err, path, detail);
        return false;
    }
    return true;
}

void tether_outbox_records_free(tether_outbox_record *records, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(records[i].topic);
        free(records[i].payload);
    }
    free(records);
}

/* Every record, in key order; SQLITE_OK or the error. */
static int load(sqlite3 *db, tether_outbox_record **out, size_t *n_out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT key, topic, payload FROM messages ORDER BY key", -1,
                                &st, NULL);
    tether_outbox_record *r = NULL;
    size_t n = 0, cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c = cap ? cap * 2 : 16;
            tether_outbox_record *g = realloc(r, c * sizeof *g);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            r = g;
            cap = c;
        }
        const unsigned char *topic = sqlite3_column_text(st, 1);
        const void *payload = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        tether_outbox_record *e = &r[n];
        e->key = sqlite3_column_int64(st, 0);
        e->topic = strdup(topic ? (const char *)topic : "");
        e->payload = malloc(len ? len : 1);
        e->len = len;
        if (!e->topic || !e->payload) {
            free(e->topic);
            free(e->payload);
            rc = SQLITE_NOMEM;
            break;
        }
        if (len) memcpy(e->payload, payload, len);
        n++;
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        tether_outbox_records_free(r, n);
        return rc;
    }
    *out = r;
    *n_out = n;
    return SQLITE_OK;
}

/* The checks of an opened store, inside BEGIN IMMEDIATE (nothing is written). */
static bool verify(sqlite3 *db, const char *path, tether_error **err) {
    long long app = 0, version = 0;
    int rc = query_int(db, "PRAGMA application_id", &app);
    char detail[200];
    if (rc == SQLITE_OK && app != APPLICATION_ID) {
        snprintf(detail, sizeof detail,
                 "an SQLite file, but not a tether outbox (application_id 0x%llx, not 0x%x)",
                 (unsigned long long)(uint32_t)app, APPLICATION_ID);
        set_damaged(err, path, detail);
        return false;
    }
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(5)", -1, &st, NULL);
    size_t at = 0;
    detail[0] = '\0';
    bool intact = true;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line && strcmp(line, "ok") != 0) intact = false;
        if (line && at < sizeof detail)
            at += (size_t)snprintf(detail + at, sizeof detail - at, "%s%s", at ? "; " : "", line);
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && !intact) {
        char text[240];
        snprintf(text, sizeof text, "integrity check: %s", detail);
        set_damaged(err, path, text);
        return false;
    }
    if (rc == SQLITE_OK) rc = query_int(db, "PRAGMA user_version", &version);
    long long columns = 0;
    if (rc == SQLITE_OK)
        rc = query_int(db,
                       "SELECT count(*) FROM pragma_table_info('messages') WHERE "
                       "(cid = 0 AND name = 'key') OR (cid = 1 AND name = 'topic') OR "
                       "(cid = 2 AND name = 'payload')",
                       &columns);
    if (rc == SQLITE_OK && (version != LAYOUT || columns != 3)) {
        snprintf(detail, sizeof detail, "not a tether outbox of layout %d (user_version %lld)",
                 LAYOUT, version);
        set_damaged(err, path, detail);
        return false;
    }
    if (rc != SQLITE_OK) {
        set_sqlite(err, path, db, rc);
        return false;
    }
    return true;
}

tether_outbox *tether_outbox_open(const char *path, tether_outbox_record **records, size_t *n,
                                  tether_error **err) {
    *records = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path",
                                      "outbox %s: cannot read: %s", path, strerror(errno));
            return NULL;
        }
        /* SQLite would replay a log left beside a missing store onto a new file. */
        size_t n_path = strlen(path);
        char *wal = malloc(n_path + 5);
        bool orphan = false;
        if (wal) {
            snprintf(wal, n_path + 5, "%s-wal", path);
            orphan = access(wal, F_OK) == 0;
        }
        if (orphan) {
            char detail[300];
            snprintf(detail, sizeof detail,
                     "the store file is missing but its log %s is there; move the log aside too",
                     wal);
            set_damaged(err, path, detail);
        }
        free(wal);
        if (orphan || !create(path, err)) return NULL;
    } else if (!check_file(path, (long long)st.st_size, err)) {
        return NULL;
    }
    tether_outbox *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        tether_internal_set_error(err, TETHER_ERROR_IO, "outbox_path", "out of memory");
        return NULL;
    }
    /* No busy wait: a lock held by another process is refused at once. */
    int rc = sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE, NULL);
    /* Reads the header and takes the lock, writing nothing before the checks. */
    if (rc == SQLITE_OK) rc = exec(o->db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN IMMEDIATE;");
    if (rc != SQLITE_OK) {
        set_sqlite(err, path, o->db, rc);
        tether_outbox_close(o);
        return NULL;
    }
    if (!verify(o->db, path, err)) {
        exec(o->db, "ROLLBACK");
        tether_outbox_close(o);
        return NULL;
    }
    rc = load(o->db, records, n);
    if (rc == SQLITE_OK)
        rc = exec(o->db, "COMMIT; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(o->db, "INSERT INTO messages (topic, payload) VALUES (?, ?)", -1,
                                &o->insert, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(o->db, "DELETE FROM messages WHERE key = ?", -1, &o->delete_key,
                                NULL);
    if (rc != SQLITE_OK) {
        set_sqlite(err, path, o->db, rc);
        tether_outbox_records_free(*records, *n);
        *records = NULL;
        *n = 0;
        tether_outbox_close(o);
        return NULL;
    }
    return o;
}

bool tether_outbox_store(tether_outbox *o, const char *topic, const void *payload, size_t len,
                         int64_t *key, char *why, size_t cap) {
    sqlite3_stmt *st = o->insert;
    sqlite3_reset(st);
    int rc = sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = len > (size_t)INT32_MAX ? SQLITE_TOOBIG
                                     : sqlite3_bind_blob(st, 2, len ? payload : "", (int)len,
                                                         SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    bool ok = rc == SQLITE_DONE;
    if (ok)
        *key = sqlite3_last_insert_rowid(o->db);
    else
        say_sqlite(why, cap, o->path, o->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok;
}

bool tether_outbox_remove(tether_outbox *o, int64_t key, char *why, size_t cap) {
    sqlite3_stmt *st = o->delete_key;
    sqlite3_reset(st);
    int rc = sqlite3_bind_int64(st, 1, key);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    bool ok = rc == SQLITE_DONE;
    if (!ok) say_sqlite(why, cap, o->path, o->db);
    sqlite3_reset(st);
    return ok;
}

const char *tether_outbox_path(const tether_outbox *o) { return o->path; }

void tether_outbox_close(tether_outbox *o) {
    if (!o) return;
    sqlite3_finalize(o->insert);
    sqlite3_finalize(o->delete_key);
    sqlite3_close(o->db); /* checkpoints the log into the file and removes it */
    free(o->path);
    free(o);
}
