//! The scan history: an embedded SQLite database (WAL journal; every scan is written in one
//! `BEGIN IMMEDIATE` transaction, so concurrent writers queue and a killed process leaves either
//! the whole scan or nothing).
//!
//! Each scan keeps its full report document (so any stored scan renders again in any format),
//! plus indexed rows for what diffs and trends query: the scopes it covered (and whether each was
//! read completely) and its findings by fingerprint.

use crate::clouds::Provider;
use crate::finding::Severity;
use crate::report::model::{
    Baseline, Change, DiffDoc, FindingEntry, FindingStatus, GoneFinding, ReportDocument, TrendPoint,
};
use cloudscan_inventory::CoverageStatus;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot create the directory of the history database `{path}`: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("history database `{path}`: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("history database `{path}` has schema version {found}; this cloudscan reads version {SCHEMA_VERSION} (use a newer cloudscan or another --store)")]
    Schema { path: PathBuf, found: i64 },
    #[error("history database `{path}`: no scan {id} (`cloudscan history` lists them)")]
    NoScan { path: PathBuf, id: i64 },
    #[error("history database `{path}`: {source}")]
    File {
        path: PathBuf,
        source: cloudscan_collect::files::FileError,
    },
    #[error("history database `{path}` has no scans yet")]
    Empty { path: PathBuf },
    #[error("history database `{path}`: scan {id} is not readable: {message}")]
    Corrupt {
        path: PathBuf,
        id: i64,
        message: String,
    },
}

/// The default database: `<data dir>/cloudscan/history.db` (`~/.local/share` on Linux).
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("cloudscan").join("history.db"))
}

/// Where the history database is: `store`, or [`default_path`] when `store` is empty (a bare
/// `--store`).
pub fn resolve(store: &Path) -> Result<PathBuf, String> {
    if store.as_os_str().is_empty() {
        default_path().ok_or_else(|| {
            "no data directory is known for this user (HOME unset?): give --store PATH".to_string()
        })
    } else {
        Ok(store.to_path_buf())
    }
}

/// One stored scan, as `cloudscan history` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScanEntry {
    pub id: i64,
    pub provider: String,
    pub scopes: Vec<String>,
    pub mode: String,
    pub started_at: String,
    pub complete: bool,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    pub waived: usize,
    pub new: usize,
    pub fixed: usize,
}

/// A finding as the history keeps it for diffs.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub resource: String,
    pub scope: String,
    pub cluster: Option<String>,
    pub waived: bool,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// A new database file is created with mode 0600 (SQLite gives its `-wal` and `-shm` files
    /// the same mode) in a folder created 0700, and an existing one readable by others is made
    /// 0600; a symbolic link at `path` is refused.
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        use cloudscan_collect::files;
        let file_error = |source| HistoryError::File {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_dir_all(dir).map_err(|e| match e {
                files::FileError::Io { source, .. } => HistoryError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                },
                other => file_error(other),
            })?;
        }
        files::check_destination(path).map_err(file_error)?;
        if std::fs::symlink_metadata(path).is_err() {
            // Created here, private, before SQLite opens it; another process may win the race,
            // and then its file is used.
            match files::create_new(path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    files::check_destination(path).map_err(file_error)?;
                }
                Err(e) => return Err(file_error(files::FileError::io("create", path, e))),
            }
        } else {
            // A database from an older cloudscan (or copied in) may be readable by others: it
            // holds whole reports, so it is made private too (when we may change its mode).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(path) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        let _ = std::fs::set_permissions(
                            path,
                            std::fs::Permissions::from_mode(files::FILE_MODE),
                        );
                    }
                }
            }
        }
        let conn = Connection::open(path).map_err(|source| HistoryError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.init()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&self) -> Result<(), HistoryError> {
        // Writers wait for each other instead of failing with SQLITE_BUSY.
        self.conn
            .busy_timeout(Duration::from_secs(60))
            .map_err(|e| self.err(e))?;
        // Pruned space can be given back to the file system (takes effect only before the first
        // table is created; older databases are converted by their first prune).
        self.conn
            .execute_batch("PRAGMA auto_vacuum=INCREMENTAL;")
            .map_err(|e| self.err(e))?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let _ = mode; // "wal", or "memory" for in-memory databases
        self.conn
            .execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
            .map_err(|e| self.err(e))?;
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if found > SCHEMA_VERSION {
            return Err(HistoryError::Schema {
                path: self.path.clone(),
                found,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        // First use: create the schema in one transaction (two processes may race here; the
        // IMMEDIATE lock serializes them and IF NOT EXISTS makes the second a no-op).
        self.conn
            .execute_batch(
                "BEGIN IMMEDIATE;
                 CREATE TABLE IF NOT EXISTS scans (
                     id          INTEGER PRIMARY KEY AUTOINCREMENT,
                     provider    TEXT NOT NULL,
                     mode        TEXT NOT NULL,
                     started_at  TEXT NOT NULL,
                     finished_at TEXT NOT NULL,
                     complete    INTEGER NOT NULL,
                     critical    INTEGER NOT NULL,
                     high        INTEGER NOT NULL,
                     medium      INTEGER NOT NULL,
                     low         INTEGER NOT NULL,
                     info        INTEGER NOT NULL,
                     waived      INTEGER NOT NULL,
                     new         INTEGER NOT NULL,
                     fixed       INTEGER NOT NULL,
                     report      TEXT NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS scan_scopes (
                     scan_id  INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
                     scope    TEXT NOT NULL,
                     complete INTEGER NOT NULL,
                     PRIMARY KEY (scan_id, scope)
                 );
                 CREATE INDEX IF NOT EXISTS scan_scopes_by_scope ON scan_scopes(scope, scan_id);
                 CREATE TABLE IF NOT EXISTS findings (
                     scan_id     INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
                     fingerprint TEXT NOT NULL,
                     rule_id     TEXT NOT NULL,
                     title       TEXT NOT NULL,
                     severity    TEXT NOT NULL,
                     resource    TEXT NOT NULL,
                     scope       TEXT NOT NULL,
                     cluster     TEXT,
                     waived      INTEGER NOT NULL,
                     PRIMARY KEY (scan_id, fingerprint)
                 );
                 PRAGMA user_version = 1;
                 COMMIT;",
            )
            .map_err(|e| self.err(e))
    }

    /// The most recent scan of `provider` that covered `scope`, before scan `before` (or any).
    fn previous_for_scope(
        &self,
        provider: Provider,
        scope: &str,
        before: Option<i64>,
    ) -> Result<Option<(i64, String)>, HistoryError> {
        self.conn
            .query_row(
                "SELECT s.id, s.started_at FROM scans s JOIN scan_scopes c ON c.scan_id = s.id
                 WHERE s.provider = ?1 AND c.scope = ?2 AND s.id < ?3
                 ORDER BY s.id DESC LIMIT 1",
                params![provider.as_str(), scope, before.unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn findings_of(&self, scan_id: i64, scope: &str) -> Result<Vec<StoredFinding>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT fingerprint, rule_id, title, severity, resource, scope, cluster, waived
                 FROM findings WHERE scan_id = ?1 AND scope = ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![scan_id, scope], |r| {
                Ok(StoredFinding {
                    fingerprint: r.get(0)?,
                    rule_id: r.get(1)?,
                    title: r.get(2)?,
                    severity: r.get::<_, String>(3)?.parse().map_err(|e: String| {
                        rusqlite::Error::FromSqlConversionFailure(
                            3,
                            rusqlite::types::Type::Text,
                            e.into(),
                        )
                    })?,
                    resource: r.get(4)?,
                    scope: r.get(5)?,
                    cluster: r.get(6)?,
                    waived: r.get::<_, i64>(7)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Compares `doc` with the previous stored scan of each of its scopes (before scan
    /// `before`, or the newest), marking each finding new or open and filling `doc.diff`.
    pub fn diff_with_previous(
        &self,
        doc: &mut ReportDocument,
        before: Option<i64>,
    ) -> Result<(), HistoryError> {
        let mut baselines = Vec::new();
        let mut previous: BTreeMap<String, Vec<StoredFinding>> = BTreeMap::new();
        for scope in doc.scan.scopes.iter().map(|s| s.id.clone()) {
            match self.previous_for_scope(doc.scan.provider, &scope, before)? {
                Some((id, started_at)) => {
                    previous.insert(scope.clone(), self.findings_of(id, &scope)?);
                    baselines.push(Baseline {
                        scope,
                        scan_id: Some(id),
                        started_at: Some(started_at),
                    });
                }
                None => baselines.push(Baseline {
                    scope,
                    scan_id: None,
                    started_at: None,
                }),
            }
        }
        compare(doc, baselines, &previous);
        Ok(())
    }

    /// Compares two stored scans: `to` against `from` (scopes of `to` that `from` did not cover
    /// have no baseline).
    pub fn diff_scans(&self, from: i64, to: i64) -> Result<ReportDocument, HistoryError> {
        let mut doc = self.load(to)?;
        let from_scopes: HashSet<String> = self.scopes_of(from)?.into_iter().collect();
        let from_started = self.started_at(from)?;
        let mut baselines = Vec::new();
        let mut previous = BTreeMap::new();
        for scope in doc.scan.scopes.iter().map(|s| s.id.clone()) {
            if from_scopes.contains(&scope) {
                previous.insert(scope.clone(), self.findings_of(from, &scope)?);
                baselines.push(Baseline {
                    scope,
                    scan_id: Some(from),
                    started_at: Some(from_started.clone()),
                });
            } else {
                baselines.push(Baseline {
                    scope,
                    scan_id: None,
                    started_at: None,
                });
            }
        }
        for f in &mut doc.findings {
            f.change = None;
        }
        compare(&mut doc, baselines, &previous);
        Ok(doc)
    }

    fn scopes_of(&self, scan_id: i64) -> Result<Vec<String>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT scope FROM scan_scopes WHERE scan_id = ?1 ORDER BY scope")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([scan_id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The open-finding counts of the stored scans that share a scope with `doc`, oldest
    /// first, at most `limit` of them.
    pub fn trend(
        &self,
        doc: &ReportDocument,
        limit: usize,
    ) -> Result<Vec<TrendPoint>, HistoryError> {
        let scopes: Vec<String> = doc.scan.scopes.iter().map(|s| s.id.clone()).collect();
        let scopes_json = serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at, critical, high, medium, low, info, waived FROM scans
                 WHERE provider = ?1 AND id IN (
                     SELECT scan_id FROM scan_scopes WHERE scope IN (SELECT value FROM json_each(?2)))
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    doc.scan.provider.as_str(),
                    scopes_json,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok(TrendPoint {
                        scan_id: r.get(0)?,
                        started_at: r.get(1)?,
                        critical: count(r.get(2)?),
                        high: count(r.get(3)?),
                        medium: count(r.get(4)?),
                        low: count(r.get(5)?),
                        info: count(r.get(6)?),
                        waived: count(r.get(7)?),
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        let mut points: Vec<TrendPoint> =
            rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        points.reverse();
        Ok(points)
    }

    /// Stores a finished scan in one transaction and returns its id (also written into
    /// `doc.scan.id` and the last trend point, which must be this scan's).
    pub fn save(&mut self, doc: &mut ReportDocument) -> Result<i64, HistoryError> {
        let path = self.path.clone();
        let err = |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let s = &doc.summary;
        tx.execute(
            "INSERT INTO scans (provider, mode, started_at, finished_at, complete, critical, high,
                 medium, low, info, waived, new, fixed, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '')",
            params![
                doc.scan.provider.as_str(),
                doc.scan.mode.as_str(),
                doc.scan.started_at,
                doc.scan.finished_at,
                doc.scan.complete,
                s.critical as i64,
                s.high as i64,
                s.medium as i64,
                s.low as i64,
                s.info as i64,
                s.waived as i64,
                s.new as i64,
                s.fixed as i64,
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        doc.scan.id = Some(id);
        if let Some(last) = doc.trend.last_mut() {
            if last.scan_id == 0 {
                last.scan_id = id;
            }
        }
        {
            let mut scope_stmt = tx
                .prepare("INSERT INTO scan_scopes (scan_id, scope, complete) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for scope in &doc.scan.scopes {
                scope_stmt
                    .execute(params![id, scope.id, scope_complete(doc, &scope.id)])
                    .map_err(err)?;
            }
            let mut finding_stmt = tx
                .prepare(
                    "INSERT OR IGNORE INTO findings (scan_id, fingerprint, rule_id, title, severity,
                         resource, scope, cluster, waived)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(err)?;
            for f in &doc.findings {
                finding_stmt
                    .execute(params![
                        id,
                        f.fingerprint,
                        f.rule_id,
                        f.title,
                        f.severity.as_str(),
                        f.resource,
                        f.scope,
                        f.cluster,
                        f.status == FindingStatus::Waived,
                    ])
                    .map_err(err)?;
            }
        }
        let report = serde_json::to_string(doc).unwrap_or_default();
        tx.execute(
            "UPDATE scans SET report = ?1 WHERE id = ?2",
            params![report, id],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// Lists stored scans, newest first.
    pub fn list(
        &self,
        provider: Option<&str>,
        scope: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ScanEntry>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, provider, mode, started_at, complete, critical, high, medium, low, info,
                     waived, new, fixed,
                     (SELECT group_concat(scope, ',') FROM
                         (SELECT scope FROM scan_scopes WHERE scan_id = scans.id ORDER BY scope))
                 FROM scans
                 WHERE (?1 IS NULL OR provider = ?1)
                   AND (?2 IS NULL OR id IN (SELECT scan_id FROM scan_scopes WHERE scope = ?2))
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![provider, scope, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok(ScanEntry {
                        id: r.get(0)?,
                        provider: r.get(1)?,
                        mode: r.get(2)?,
                        started_at: r.get(3)?,
                        complete: r.get(4)?,
                        critical: count(r.get(5)?),
                        high: count(r.get(6)?),
                        medium: count(r.get(7)?),
                        low: count(r.get(8)?),
                        info: count(r.get(9)?),
                        waived: count(r.get(10)?),
                        new: count(r.get(11)?),
                        fixed: count(r.get(12)?),
                        scopes: r
                            .get::<_, Option<String>>(13)?
                            .map(|s| s.split(',').map(str::to_string).collect())
                            .unwrap_or_default(),
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// When scan `id` started, or an error naming the missing scan.
    fn started_at(&self, id: i64) -> Result<String, HistoryError> {
        self.conn
            .query_row("SELECT started_at FROM scans WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or(HistoryError::NoScan {
                path: self.path.clone(),
                id,
            })
    }

    /// The newest scan's id.
    pub fn latest(&self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("SELECT max(id) FROM scans", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_err(|e| self.err(e))?
            .ok_or(HistoryError::Empty {
                path: self.path.clone(),
            })
    }

    /// The scan before `id` that shares a scope with it.
    pub fn previous_of(&self, id: i64) -> Result<Option<i64>, HistoryError> {
        let provider: Option<String> = self
            .conn
            .query_row("SELECT provider FROM scans WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(provider) = provider else {
            return Err(HistoryError::NoScan {
                path: self.path.clone(),
                id,
            });
        };
        self.conn
            .query_row(
                "SELECT max(s.id) FROM scans s JOIN scan_scopes c ON c.scan_id = s.id
                 WHERE s.provider = ?1 AND s.id < ?2
                   AND c.scope IN (SELECT scope FROM scan_scopes WHERE scan_id = ?2)",
                params![provider, id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The stored report document of scan `id`.
    pub fn load(&self, id: i64) -> Result<ReportDocument, HistoryError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT report FROM scans WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let text = text.ok_or(HistoryError::NoScan {
            path: self.path.clone(),
            id,
        })?;
        ReportDocument::from_json(&text).map_err(|message| HistoryError::Corrupt {
            path: self.path.clone(),
            id,
            message,
        })
    }
}

/// Which stored scans `cloudscan history prune` (or `--keep` on a scan) deletes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep the newest N scans of each scope set (provider and the exact set of scopes).
    pub keep: Option<usize>,
    /// Delete scans that started before this time.
    pub older_than: Option<std::time::SystemTime>,
}

/// What a prune did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Scans deleted (with their scopes, findings and report documents).
    pub scans: usize,
    /// Size of the database file (with its WAL) before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

impl Store {
    /// Deletes the scans `retention` does not keep, then gives the freed pages back to the file
    /// system (incremental vacuum; a full `VACUUM` the first time on a database made before
    /// incremental vacuum was enabled) and truncates the WAL.
    pub fn prune(&mut self, retention: Retention) -> Result<Pruned, HistoryError> {
        let bytes_before = self.file_size();
        let cutoff = retention.older_than.map(crate::report::model::rfc3339);
        // (provider, scopes) -> (id, started_at), newest first.
        type ScopeSet = (String, Vec<String>);
        let mut by_set: BTreeMap<ScopeSet, Vec<(i64, String)>> = BTreeMap::new();
        for e in self.list(None, None, usize::MAX)? {
            by_set
                .entry((e.provider, e.scopes))
                .or_default()
                .push((e.id, e.started_at));
        }
        let mut doomed: Vec<i64> = Vec::new();
        for scans in by_set.values() {
            // `list` is newest first.
            for (rank, (id, started_at)) in scans.iter().enumerate() {
                let beyond_keep = retention.keep.is_some_and(|keep| rank >= keep);
                let too_old = cutoff.as_deref().is_some_and(|c| started_at.as_str() < c);
                if beyond_keep || too_old {
                    doomed.push(*id);
                }
            }
        }
        if !doomed.is_empty() {
            let path = self.path.clone();
            let err = |source| HistoryError::Sqlite {
                path: path.clone(),
                source,
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            {
                let mut stmt = tx.prepare("DELETE FROM scans WHERE id = ?1").map_err(err)?;
                for id in &doomed {
                    stmt.execute([id]).map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            self.vacuum()?;
        }
        Ok(Pruned {
            scans: doomed.len(),
            bytes_before,
            bytes_after: self.file_size(),
        })
    }

    fn vacuum(&self) -> Result<(), HistoryError> {
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let sql = if mode == 2 {
            "PRAGMA incremental_vacuum;"
        } else {
            "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;"
        };
        self.conn.execute_batch(sql).map_err(|e| self.err(e))?;
        // Copies the pages back into the database and empties the WAL file.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    /// The database file and its WAL, in bytes.
    pub fn file_size(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        size(&self.path) + size(Path::new(&wal))
    }
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// Whether every coverage entry of `scope` (and every scope-less one) is complete.
pub fn scope_complete(doc: &ReportDocument, scope: &str) -> bool {
    doc.coverage
        .iter()
        .filter(|c| c.scope == scope || c.scope.is_empty())
        .all(|c| c.status == CoverageStatus::Complete)
}

/// Marks each finding of `doc` new or open against the baseline findings of its scope, and
/// lists the baseline findings that are gone: fixed when this scan read the scope completely,
/// unverified otherwise. Scopes without a baseline count every finding as new.
pub fn compare(
    doc: &mut ReportDocument,
    baselines: Vec<Baseline>,
    previous: &BTreeMap<String, Vec<StoredFinding>>,
) {
    let current: HashSet<(String, String)> = doc
        .findings
        .iter()
        .map(|f| (f.scope.clone(), f.fingerprint.clone()))
        .collect();
    let before: HashSet<(&str, &str)> = previous
        .iter()
        .flat_map(|(scope, fs)| {
            fs.iter()
                .map(move |f| (scope.as_str(), f.fingerprint.as_str()))
        })
        .collect();
    let mut diff = DiffDoc {
        baselines,
        ..DiffDoc::default()
    };
    for f in &mut doc.findings {
        let change = if before.contains(&(f.scope.as_str(), f.fingerprint.as_str())) {
            Change::Open
        } else {
            Change::New
        };
        f.change = Some(change);
        if f.status == FindingStatus::Open {
            match change {
                Change::New => diff.new += 1,
                Change::Open => diff.open += 1,
            }
        }
    }
    for (scope, findings) in previous {
        let complete = scope_complete(doc, scope);
        for f in findings {
            if current.contains(&(scope.clone(), f.fingerprint.clone())) {
                continue;
            }
            let gone = GoneFinding {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                title: f.title.clone(),
                severity: f.severity,
                resource: f.resource.clone(),
                scope: f.scope.clone(),
                cluster: f.cluster.clone(),
            };
            if complete {
                diff.fixed.push(gone);
            } else {
                diff.unverified.push(gone);
            }
        }
    }
    doc.diff = Some(diff);
    doc.recount();
}

/// Keeps the findings a `--new-only` gate looks at.
pub fn is_new(f: &FindingEntry) -> bool {
    f.change == Some(Change::New)
}
