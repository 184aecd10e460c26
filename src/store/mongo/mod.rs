//! The `client_info` document repository: one document per client, unique on `client_id`.
//!
//! - Every operation is bounded by the configured timeout, so an unreachable server costs a
//!   request at most that long and surfaces as `InfoError::Unavailable`.
//! - Writes are acknowledged once journaled (`j: true`) by a majority (`w: majority`; a
//!   standalone server treats that as itself).
//! - A document is created only with its client (`create`) or by reconcile (`ensure`). Deleting
//!   a client replaces its document with a tombstone (`{client_id, deleted: true}`) instead of
//!   removing it, and every other write matches live documents only and never upserts: a write
//!   racing a delete either lands before the tombstone (which then replaces it) or finds no
//!   live document. Creating a document where a tombstone stands fails on the unique index, so
//!   no path can bring a deleted client's document back. Reconcile purges old tombstones.
//! - Comments are kept newest first (sorted by their UUIDv7 ids on every push), so a page is
//!   "the next N comments with an id below the cursor", computed by the server.

use crate::domain::free_form::FieldIssue;
use crate::domain::ids::{ClientId, CommentId};
use crate::domain::precondition::{Precondition, Stale};
use crate::domain::view::{ClientInfo, Comment, InfoMap};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::options::{Acknowledgment, ClientOptions, IndexOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

pub const COLLECTION: &str = "client_info";
/// Comments kept per client; the array lives inside one document (16 MiB limit).
pub const MAX_COMMENTS: i64 = 1_000;
/// Optimistic retries of a read-merge-write before giving up with a conflict.
const MERGE_ATTEMPTS: usize = 8;
/// Bound on the whole-collection work of background jobs (totals for stats), which takes
/// seconds at a million documents where a request's operation takes milliseconds.
const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("MongoDB is unavailable: {0}")]
    Unavailable(String),
    #[error("the client already has {MAX_COMMENTS} comments")]
    CommentLimit,
    #[error("the document kept changing while it was being merged")]
    Contended,
    /// The merged document would break a rule (checked against the merged result).
    #[error("the merged document is invalid")]
    Rejected(Vec<FieldIssue>),
    /// The client has no live document: it was never written, was lost, or is a tombstone.
    #[error("the client has no document")]
    NoDocument,
    /// A tombstone stands for this client: it was deleted.
    #[error("the client was deleted")]
    Deleted,
    /// `If-Match` named another revision of the document.
    #[error("the document is at another revision")]
    Stale(Stale),
    #[error("MongoDB error: {0}")]
    Other(String),
}

impl From<mongodb::error::Error> for InfoError {
    fn from(err: mongodb::error::Error) -> Self {
        match *err.kind {
            ErrorKind::ServerSelection { .. } | ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } => {
                InfoError::Unavailable(err.to_string())
            }
            _ => InfoError::Other(err.to_string()),
        }
    }
}

fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    use mongodb::error::WriteFailure;
    let code = match &*err.kind {
        ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    };
    code == Some(11000) || err.to_string().contains("E11000")
}

#[derive(Debug, Serialize, Deserialize)]
struct CommentDoc {
    id: String,
    text: String,
    created_at: bson::DateTime,
}

#[derive(Debug, Deserialize)]
struct InfoDoc {
    #[serde(default)]
    comments: Vec<CommentDoc>,
    #[serde(default)]
    comments_count: i64,
    #[serde(default)]
    preferences: Map<String, Value>,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    rev: i64,
    #[serde(default)]
    deleted: bool,
    created_at: Option<bson::DateTime>,
    updated_at: Option<bson::DateTime>,
}

/// A document's revision alone.
#[derive(Debug, Deserialize)]
struct Revision {
    #[serde(default)]
    rev: i64,
}

impl From<CommentDoc> for Option<Comment> {
    fn from(doc: CommentDoc) -> Self {
        // A comment whose id is not a UUID was not written by this API; it is skipped.
        let id = uuid::Uuid::parse_str(&doc.id).ok()?;
        Some(Comment { id: CommentId(id), text: doc.text, created_at: doc.created_at.to_chrono() })
    }
}

impl From<InfoDoc> for ClientInfo {
    fn from(doc: InfoDoc) -> Self {
        ClientInfo {
            comments: doc.comments.into_iter().filter_map(Option::<Comment>::from).collect(),
            comments_count: doc.comments_count,
            preferences: doc.preferences,
            attributes: doc.attributes,
            tags: doc.tags,
            created_at: doc.created_at.map(|at| at.to_chrono()),
            updated_at: doc.updated_at.map(|at| at.to_chrono()),
        }
    }
}

/// Size of each batch a streamed read asks the server for.
const STREAM_BATCH: u32 = 5_000;

/// The ids `InfoStore::live_client_ids` streams.
pub struct ClientIdStream {
    cursor: mongodb::Cursor<Document>,
    store: InfoStore,
}

impl ClientIdStream {
    /// Up to `limit` more ids (raw text: a document not written by this API may hold anything);
    /// fewer only at the end.
    pub async fn next_batch(&mut self, limit: usize) -> Result<Vec<String>, InfoError> {
        let (cursor, store) = (&mut self.cursor, &self.store);
        store
            .within("live_client_ids", BACKGROUND_TIMEOUT.max(store.timeout), async {
                let mut ids = Vec::with_capacity(limit);
                while ids.len() < limit {
                    let Some(document) = cursor.try_next().await? else { break };
                    if let Ok(id) = document.get_str("client_id") {
                        ids.push(id.to_string());
                    }
                }
                Ok(ids)
            })
            .await
    }
}

/// The filter of a client's live document.
fn live(client_id: ClientId) -> Document {
    doc! { "client_id": client_id.to_string(), "deleted": { "$ne": true } }
}

/// What a fresh document holds, minus the fields an upsert sets itself.
fn on_insert(client_id: ClientId, now: bson::DateTime, skip: &[&str]) -> Document {
    let mut fields = doc! {
        "client_id": client_id.to_string(),
        "comments": [],
        "comments_count": 0_i64,
        "preferences": {},
        "attributes": {},
        "tags": [],
        "rev": 0_i64,
        "created_at": now,
    };
    for key in skip {
        fields.remove(*key);
    }
    fields
}

fn to_document(map: &Map<String, Value>) -> Document {
    map.iter().map(|(key, value)| (key.clone(), to_bson(value))).collect()
}

/// JSON to BSON without failure: BSON has no unsigned 64-bit integers, so integers beyond
/// `i64` are stored as doubles (as JavaScript clients read them anyway).
fn to_bson(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Bool(flag) => Bson::Boolean(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => Bson::Int64(integer),
            None => Bson::Double(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => Bson::String(text.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(to_bson).collect()),
        Value::Object(map) => Bson::Document(map.iter().map(|(k, v)| (k.clone(), to_bson(v))).collect()),
    }
}

fn comment_bson(comment: &Comment) -> Result<Bson, InfoError> {
    bson::to_bson(&CommentDoc {
        id: comment.id.to_string(),
        text: comment.text.clone(),
        created_at: bson::DateTime::from_chrono(comment.created_at),
    })
    .map_err(|err| InfoError::Other(err.to_string()))
}

fn number(document: &Document, key: &str) -> i64 {
    match document.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

/// A new client's document, for bulk inserts.
#[derive(Debug, Clone, Default)]
pub struct NewDocument {
    pub client_id: ClientId,
    pub preferences: Map<String, Value>,
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InfoTotals {
    /// Live documents (tombstones excluded).
    pub documents: i64,
    pub comments: i64,
}

/// Told of every finished operation: its name, how long it took, whether it failed.
pub type Observer = Arc<dyn Fn(&str, Duration, bool) + Send + Sync>;

#[derive(Clone)]
pub struct InfoStore {
    database: Database,
    collection: Collection<Document>,
    timeout: Duration,
    observe: Observer,
}

impl InfoStore {
    /// Builds the client without connecting (the driver connects lazily, in the background).
    pub async fn connect(
        uri: &str,
        database: &str,
        timeout: Duration,
        pool_size: u32,
        observe: Observer,
    ) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri).await?;
        options.app_name = Some("hybrid-crm".into());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.max_pool_size = Some(pool_size);
        let client = Client::with_options(options)?;
        Ok(Self::from_database(client.database(database), timeout, observe))
    }

    pub fn from_database(database: Database, timeout: Duration, observe: Observer) -> Self {
        let durable = WriteConcern::builder().w(Acknowledgment::Majority).journal(true).build();
        let collection = database.collection_with_options::<Document>(
            COLLECTION,
            mongodb::options::CollectionOptions::builder().write_concern(durable).build(),
        );
        InfoStore { database, collection, timeout, observe }
    }

    async fn bounded<T>(&self, name: &str, op: impl Future<Output = Result<T, InfoError>>) -> Result<T, InfoError> {
        self.within(name, self.timeout, op).await
    }

    /// Runs an operation within `limit`, and tells the observer how long it took and whether it
    /// failed (a timeout, or an error other than "not there").
    async fn within<T>(
        &self,
        name: &str,
        limit: Duration,
        op: impl Future<Output = Result<T, InfoError>>,
    ) -> Result<T, InfoError> {
        // A child of the caller's span (the request's, with its request id, or the worker round's).
        let span = tracing::debug_span!("mongodb", op = name);
        async {
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(limit, op)
                .await
                .map_err(|_| InfoError::Unavailable(format!("no answer within {} ms", limit.as_millis())))
                .and_then(|done| done);
            let failed = matches!(outcome, Err(InfoError::Unavailable(_) | InfoError::Other(_)));
            (self.observe)(name, started.elapsed(), failed);
            tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, failed, "mongodb call");
            outcome
        }
        .instrument(span)
        .await
    }

    pub async fn ensure_indexes(&self) -> Result<(), InfoError> {
        let index = IndexModel::builder()
            .keys(doc! { "client_id": 1 })
            .options(IndexOptions::builder().unique(true).name("client_id_unique".to_string()).build())
            .build();
        self.bounded("ensure_indexes", async { Ok(self.collection.create_index(index).await.map(|_| ())?) }).await
    }

    pub async fn ping(&self) -> Result<(), InfoError> {
        self.bounded("ping", async { Ok(self.database.run_command(doc! { "ping": 1 }).await.map(|_| ())?) }).await
    }

    /// An upsert of the client's live document; a tombstone in the way means "deleted".
    async fn upsert_live(&self, client_id: ClientId, update: Document) -> Result<(), InfoError> {
        self.bounded("upsert_live", async {
            match self.collection.update_one(live(client_id), update).upsert(true).await {
                Ok(_) => Ok(()),
                Err(err) if is_duplicate_key(&err) => Err(InfoError::Deleted),
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// Writes the initial content of a new client's document (idempotent: repeating it sets the
    /// same values). `comments` is for seeding; the API passes none.
    pub async fn create(
        &self,
        client_id: ClientId,
        preferences: &Map<String, Value>,
        attributes: &Map<String, Value>,
        tags: &[String],
        comments: &[Comment],
    ) -> Result<(), InfoError> {
        let now = bson::DateTime::now();
        let mut set = doc! {
            "preferences": to_document(preferences),
            "attributes": to_document(attributes),
            "tags": tags,
            "updated_at": now,
        };
        let mut skip = vec!["preferences", "attributes", "tags"];
        if !comments.is_empty() {
            let mut sorted: Vec<&Comment> = comments.iter().collect();
            sorted.sort_by_key(|c| std::cmp::Reverse(c.id));
            let entries = sorted.into_iter().map(comment_bson).collect::<Result<Vec<_>, _>>()?;
            set.insert("comments", entries);
            set.insert("comments_count", comments.len() as i64);
            skip.extend(["comments", "comments_count"]);
        }
        self.upsert_live(client_id, doc! { "$setOnInsert": on_insert(client_id, now, &skip), "$set": set }).await
    }

    /// Inserts documents for new clients in bulk (seeding); documents that already exist are
    /// left as they are.
    pub async fn insert_new(&self, documents: Vec<NewDocument>) -> Result<(), InfoError> {
        if documents.is_empty() {
            return Ok(());
        }
        let now = bson::DateTime::now();
        let mut docs = Vec::with_capacity(documents.len());
        for new in documents {
            let mut comments: Vec<&Comment> = new.comments.iter().collect();
            comments.sort_by_key(|c| std::cmp::Reverse(c.id));
            let mut document = on_insert(new.client_id, now, &[]);
            document.insert("preferences", to_document(&new.preferences));
            document.insert("attributes", to_document(&new.attributes));
            document.insert("tags", new.tags.clone());
            document.insert("comments", comments.into_iter().map(comment_bson).collect::<Result<Vec<_>, _>>()?);
            document.insert("comments_count", new.comments.len() as i64);
            document.insert("updated_at", now);
            docs.push(document);
        }
        self.within("insert_new", BACKGROUND_TIMEOUT.max(self.timeout), async {
            match self.collection.insert_many(docs).ordered(false).await {
                Ok(_) => Ok(()),
                Err(err) => match &*err.kind {
                    ErrorKind::InsertMany(failure)
                        if failure.write_concern_error.is_none()
                            && failure.write_errors.iter().flatten().all(|e| e.code == 11000) =>
                    {
                        Ok(())
                    }
                    _ => Err(err.into()),
                },
            }
        })
        .await
    }

    /// Makes sure an (empty) live document exists; reconcile's repair for a lost document.
    /// `Deleted` when a tombstone says the client is gone.
    pub async fn ensure(&self, client_id: ClientId) -> Result<(), InfoError> {
        let now = bson::DateTime::now();
        let mut fields = on_insert(client_id, now, &[]);
        fields.insert("updated_at", now);
        self.upsert_live(client_id, doc! { "$setOnInsert": fields }).await
    }

    /// The live document with at most `newest_comments` comments (all when `None`). Looked up
    /// by `client_id` alone (the unique index answers; a filter on `deleted` would cost every
    /// read a check), and a tombstone read as no document.
    pub async fn get(
        &self,
        client_id: ClientId,
        newest_comments: Option<i64>,
    ) -> Result<Option<ClientInfo>, InfoError> {
        let projection = match newest_comments {
            Some(n) => doc! { "_id": 0, "client_id": 0, "comments": { "$slice": n } },
            None => doc! { "_id": 0, "client_id": 0 },
        };
        self.bounded("get", async {
            let found = self
                .collection
                .clone_with_type::<InfoDoc>()
                .find_one(doc! { "client_id": client_id.to_string() })
                .projection(projection)
                .await?;
            Ok(found.filter(|doc| !doc.deleted).map(ClientInfo::from))
        })
        .await
    }

    /// The preferences of each client with a live document, in one query (the notification
    /// sender reads a whole batch's at once). A client without one is left out.
    pub async fn preferences_of(
        &self,
        clients: &[ClientId],
    ) -> Result<std::collections::HashMap<ClientId, Map<String, Value>>, InfoError> {
        #[derive(Deserialize)]
        struct PreferencesDoc {
            client_id: String,
            #[serde(default)]
            preferences: Map<String, Value>,
            #[serde(default)]
            deleted: bool,
        }
        let ids: Vec<String> = clients.iter().map(ClientId::to_string).collect();
        self.bounded("preferences_of", async {
            let docs: Vec<PreferencesDoc> = self
                .collection
                .clone_with_type::<PreferencesDoc>()
                .find(doc! { "client_id": { "$in": ids } })
                .projection(doc! { "_id": 0, "client_id": 1, "preferences": 1, "deleted": 1 })
                .await?
                .try_collect()
                .await?;
            Ok(docs
                .into_iter()
                .filter(|doc| !doc.deleted)
                .filter_map(|doc| Some((ClientId(doc.client_id.parse().ok()?), doc.preferences)))
                .collect())
        })
        .await
    }

    /// Up to `limit` comments, newest first, older than the comment `before` (which need not
    /// exist any more: the ids order the comments, not their positions).
    pub async fn comments_page(
        &self,
        client_id: ClientId,
        before: Option<CommentId>,
        limit: i64,
    ) -> Result<Option<Vec<Comment>>, InfoError> {
        let source = match before {
            Some(id) => Bson::Document(doc! {
                "$filter": { "input": "$comments", "cond": { "$lt": ["$$this.id", id.to_string()] } }
            }),
            None => Bson::String("$comments".into()),
        };
        let pipeline = vec![
            doc! { "$match": live(client_id) },
            doc! { "$project": { "_id": 0, "page": { "$slice": [source, limit] } } },
        ];
        self.bounded("comments_page", async {
            let mut cursor = self.collection.aggregate(pipeline).await?;
            let Some(row) = cursor.try_next().await? else {
                return Ok(None);
            };
            let page: Vec<CommentDoc> = match row.get("page") {
                Some(page) => bson::from_bson(page.clone()).map_err(|err| InfoError::Other(err.to_string()))?,
                None => Vec::new(),
            };
            Ok(Some(page.into_iter().filter_map(Option::<Comment>::from).collect()))
        })
        .await
    }

    /// One comment of the client's live document; `None` when the client has no document, or no
    /// such comment.
    pub async fn comment(&self, client_id: ClientId, comment_id: CommentId) -> Result<Option<Comment>, InfoError> {
        let id = comment_id.to_string();
        let pipeline = vec![
            doc! { "$match": live(client_id) },
            doc! { "$project": { "_id": 0, "found": {
                "$filter": { "input": "$comments", "cond": { "$eq": ["$$this.id", &id] }, "limit": 1 }
            } } },
        ];
        self.bounded("comment", async {
            let mut cursor = self.collection.aggregate(pipeline).await?;
            let Some(row) = cursor.try_next().await? else {
                return Ok(None);
            };
            let found: Vec<CommentDoc> = match row.get("found") {
                Some(found) => bson::from_bson(found.clone()).map_err(|err| InfoError::Other(err.to_string()))?,
                None => Vec::new(),
            };
            Ok(found.into_iter().find_map(Option::<Comment>::from))
        })
        .await
    }

    /// Adds a comment (kept sorted newest first) and counts it. `NoDocument` when the client has
    /// no live document; `CommentLimit` when it has `MAX_COMMENTS` already.
    pub async fn add_comment(&self, client_id: ClientId, comment: &Comment) -> Result<(), InfoError> {
        let update = doc! {
            "$push": { "comments": { "$each": [comment_bson(comment)?], "$sort": { "id": -1 } } },
            "$inc": { "comments_count": 1_i64 },
            "$set": { "updated_at": bson::DateTime::now() },
        };
        let mut filter = live(client_id);
        filter.insert("comments_count", doc! { "$lt": MAX_COMMENTS });
        self.bounded("add_comment", async {
            if self.collection.update_one(filter, update).await?.matched_count > 0 {
                return Ok(());
            }
            // Nothing matched: a full document, or none at all.
            match self.collection.count_documents(live(client_id)).await? {
                0 => Err(InfoError::NoDocument),
                _ => Err(InfoError::CommentLimit),
            }
        })
        .await
    }

    /// Removes one comment; `false` when the client has no such comment.
    pub async fn delete_comment(&self, client_id: ClientId, comment_id: CommentId) -> Result<bool, InfoError> {
        let mut filter = live(client_id);
        filter.insert("comments.id", comment_id.to_string());
        let update = doc! {
            "$pull": { "comments": { "id": comment_id.to_string() } },
            "$inc": { "comments_count": -1_i64 },
            "$set": { "updated_at": bson::DateTime::now() },
        };
        self.bounded("delete_comment", async {
            Ok(self.collection.update_one(filter, update).await?.modified_count > 0)
        })
        .await
    }

    /// Replaces preferences or attributes as a whole if the document's revision satisfies
    /// `precondition`, and returns the new revision. `NoDocument` when there is no live one.
    pub async fn replace_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
        map: &Map<String, Value>,
        precondition: &Precondition,
    ) -> Result<i64, InfoError> {
        let mut filter = live(client_id);
        if let Precondition::OneOf(tags) = precondition {
            let revisions: Vec<i64> = tags.iter().filter_map(|tag| tag.parse().ok()).collect();
            filter.insert("rev", doc! { "$in": revisions });
        }
        let written = self.write_map(which, map, filter, "replace_map").await?;
        match written {
            Some(rev) => Ok(rev),
            None => match self.read_map(client_id, which).await? {
                Some((_, rev)) => Err(InfoError::Stale(Stale { current: rev.to_string() })),
                None => Err(InfoError::NoDocument),
            },
        }
    }

    /// Sets one map of the document `filter` selects and bumps its revision; the new revision,
    /// or `None` when the filter selected nothing.
    async fn write_map(
        &self,
        which: InfoMap,
        map: &Map<String, Value>,
        filter: Document,
        name: &str,
    ) -> Result<Option<i64>, InfoError> {
        let mut set = Document::new();
        set.insert(which.field(), to_document(map));
        set.insert("updated_at", bson::DateTime::now());
        let update = doc! { "$set": set, "$inc": { "rev": 1_i64 } };
        self.bounded(name, async {
            let updated = self
                .collection
                .clone_with_type::<Revision>()
                .find_one_and_update(filter, update)
                .projection(doc! { "_id": 0, "rev": 1 })
                .return_document(ReturnDocument::After)
                .await?;
            Ok(updated.map(|doc| doc.rev))
        })
        .await
    }

    /// Applies an RFC 7396 merge patch to preferences or attributes and returns the result with
    /// the new revision. Read-merge-write guarded by the document's `rev` (which must satisfy
    /// `precondition`), retried when another write won.
    pub async fn merge_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
        patch: &Map<String, Value>,
        precondition: &Precondition,
        check: impl Fn(&Map<String, Value>) -> Vec<FieldIssue>,
    ) -> Result<(Map<String, Value>, i64), InfoError> {
        for _ in 0..MERGE_ATTEMPTS {
            let (mut merged, rev) = self.read_map(client_id, which).await?.ok_or(InfoError::NoDocument)?;
            if !precondition.allows(&rev.to_string()) {
                return Err(InfoError::Stale(Stale { current: rev.to_string() }));
            }
            crate::domain::free_form::merge_patch(&mut merged, patch);
            let issues = check(&merged);
            if !issues.is_empty() {
                return Err(InfoError::Rejected(issues));
            }
            let mut filter = live(client_id);
            filter.insert("rev", rev);
            if let Some(rev) = self.write_map(which, &merged, filter, "merge_map").await? {
                return Ok((merged, rev));
            }
        }
        Err(InfoError::Contended)
    }

    /// One map of the live document and the document's `rev`, read together.
    pub async fn read_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
    ) -> Result<Option<(Map<String, Value>, i64)>, InfoError> {
        self.bounded("read_map", async {
            let found = self
                .collection
                .clone_with_type::<InfoDoc>()
                .find_one(live(client_id))
                .projection(doc! { "_id": 0, which.field(): 1, "rev": 1 })
                .await?;
            Ok(found.map(|doc| {
                let map = match which {
                    InfoMap::Preferences => doc.preferences,
                    InfoMap::Attributes => doc.attributes,
                };
                (map, doc.rev)
            }))
        })
        .await
    }

    /// Replaces the client's document with a tombstone (created when there was none), so no
    /// write still in flight can bring the document back.
    pub async fn delete(&self, client_id: ClientId) -> Result<(), InfoError> {
        let tombstone = doc! {
            "client_id": client_id.to_string(),
            "deleted": true,
            "deleted_at": bson::DateTime::now(),
        };
        self.bounded("delete", async {
            self.collection.replace_one(doc! { "client_id": client_id.to_string() }, tombstone).upsert(true).await?;
            Ok(())
        })
        .await
    }

    /// Removes a document whose `client_id` is not an id this API writes.
    pub async fn delete_raw(&self, client_id: &str) -> Result<(), InfoError> {
        self.bounded("delete_raw", async {
            Ok(self.collection.delete_one(doc! { "client_id": client_id }).await.map(|_| ())?)
        })
        .await
    }

    /// Which of `clients` have a live document (one indexed lookup per id: cheap on any
    /// MongoDB-protocol server, unlike a walk in `client_id` order).
    pub async fn live_among(&self, clients: &[ClientId]) -> Result<HashSet<ClientId>, InfoError> {
        let ids: Vec<String> = clients.iter().map(ClientId::to_string).collect();
        self.within("live_among", BACKGROUND_TIMEOUT.max(self.timeout), async {
            let mut cursor = self
                .collection
                .find(doc! { "client_id": { "$in": ids } })
                .projection(doc! { "_id": 0, "client_id": 1, "deleted": 1 })
                .await?;
            let mut live = HashSet::new();
            while let Some(document) = cursor.try_next().await? {
                if document.get_bool("deleted").unwrap_or(false) {
                    continue;
                }
                if let Some(id) = document.get_str("client_id").ok().and_then(|id| id.parse().ok()) {
                    live.insert(ClientId(id));
                }
            }
            Ok(live)
        })
        .await
    }

    /// Every live document's `client_id`, in no particular order, read in batches: one pass
    /// over the collection however large it is, with flat memory.
    pub async fn live_client_ids(&self) -> Result<ClientIdStream, InfoError> {
        let cursor = self
            .within("live_client_ids", BACKGROUND_TIMEOUT.max(self.timeout), async {
                Ok(self
                    .collection
                    .find(doc! { "deleted": { "$ne": true } })
                    .projection(doc! { "_id": 0, "client_id": 1 })
                    .batch_size(STREAM_BATCH)
                    .await?)
            })
            .await?;
        Ok(ClientIdStream { cursor, store: self.clone() })
    }

    /// Deletes tombstones written before `before` (no request can still race those deletes).
    pub async fn purge_tombstones(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64, InfoError> {
        let filter = doc! { "deleted": true, "deleted_at": { "$lt": bson::DateTime::from_chrono(before) } };
        self.bounded("purge_tombstones", async { Ok(self.collection.delete_many(filter).await?.deleted_count) }).await
    }

    /// Live documents and comments in total, computed by an aggregation pipeline on the server.
    pub async fn totals(&self) -> Result<InfoTotals, InfoError> {
        let pipeline = vec![
            doc! { "$match": { "deleted": { "$ne": true } } },
            doc! { "$group": { "_id": Bson::Null, "documents": { "$sum": 1 }, "comments": { "$sum": "$comments_count" } } },
        ];
        self.within("totals", BACKGROUND_TIMEOUT.max(self.timeout), async {
            let mut cursor = self.collection.aggregate(pipeline).await?;
            let Some(row) = cursor.try_next().await? else {
                return Ok(InfoTotals::default());
            };
            Ok(InfoTotals { documents: number(&row, "documents"), comments: number(&row, "comments") })
        })
        .await
    }

    /// Drops the collection (`seed --reset`).
    pub async fn drop_collection(&self) -> Result<(), InfoError> {
        self.bounded("drop_collection", async { Ok(self.collection.drop().await?) }).await
    }
}
