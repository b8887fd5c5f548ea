// Hearth: checkpoint each SQLite database's write-ahead log from one goroutine, on a clock.
//
// SQLite's automatic checkpoint runs inside a committing write once the log passes 1000
// pages. Under FerretDB's steady concurrent reads the log is never fully copied back and
// reset, so it keeps growing (333 MB after 40,000 updates of 2 KB documents) and every commit
// past the threshold scans all of it again: a third of FerretDB's CPU, measured with pprof.
// devstack turns the automatic checkpoint off (wal_autocheckpoint(0)); this copies the log
// back every second without blocking anyone (PASSIVE). The log starts again from the
// beginning whenever a writer finds it all copied back, and journal_size_limit trims the file
// then. (RESTART or TRUNCATE would bound it under load too, but they take the write lock and
// FerretDB's writers fail with SQLITE_BUSY instead of waiting: measured, not used.)

package pool

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"
)

func hearthCheckpoint(db *sql.DB, l *slog.Logger) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()

	for range ticker.C {
		_, err := db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		if err != nil {
			if strings.Contains(err.Error(), "database is closed") {
				return
			}
			l.Warn("hearth: WAL checkpoint failed", slog.String("error", err.Error()))
		}
	}
}
