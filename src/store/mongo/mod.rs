//! The `client_info` document repository: one document per client, unique on `client_id`.
//!
//! Every operation is bounded by the configured timeout, so an unreachable server costs a
//! request at most that long and surfaces as `InfoError::Unavailable`.

use crate::domain::free_form::FieldIssue;
use crate::domain::ids::{ClientId, CommentId};
use crate::domain::view::{ClientInfo, Comment};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::future::Future;
use std::time::Duration;

pub const COLLECTION: &str = "client_info";
/// Comments kept per client; the array lives inside one document (16 MiB limit).
pub const MAX_COMMENTS: i64 = 1_000;
/// Optimistic retries of a read-merge-write before giving up with a conflict.
const MERGE_ATTEMPTS: usize = 8;

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
    created_at: Option<bson::DateTime>,
    updated_at: Option<bson::DateTime>,
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

/// Which free-form map of the document an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoMap {
    Preferences,
    Attributes,
}

impl InfoMap {
    pub fn field(self) -> &'static str {
        match self {
            InfoMap::Preferences => "preferences",
            InfoMap::Attributes => "attributes",
        }
    }
}

/// What a fresh document holds; `$setOnInsert` makes every write an idempotent upsert.
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

fn to_document(map: &Map<String, Value>) -> Result<Document, InfoError> {
    Ok(map.iter().map(|(key, value)| (key.clone(), to_bson(value))).collect())
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InfoTotals {
    pub documents: i64,
    pub comments: i64,
}

#[derive(Clone)]
pub struct InfoStore {
    database: Database,
    collection: Collection<Document>,
    timeout: Duration,
}

impl InfoStore {
    /// Builds the client without connecting (the driver connects lazily, in the background).
    pub async fn connect(uri: &str, database: &str, timeout: Duration, pool_size: u32) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri).await?;
        options.app_name = Some("hybrid-crm".into());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.max_pool_size = Some(pool_size);
        let client = Client::with_options(options)?;
        Ok(Self::from_database(client.database(database), timeout))
    }

    pub fn from_database(database: Database, timeout: Duration) -> Self {
        let collection = database.collection::<Document>(COLLECTION);
        InfoStore { database, collection, timeout }
    }

    async fn bounded<T>(&self, op: impl Future<Output = Result<T, InfoError>>) -> Result<T, InfoError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .map_err(|_| InfoError::Unavailable(format!("no answer within {} ms", self.timeout.as_millis())))?
    }

    pub async fn ensure_indexes(&self) -> Result<(), InfoError> {
        let index = IndexModel::builder()
            .keys(doc! { "client_id": 1 })
            .options(IndexOptions::builder().unique(true).name("client_id_unique".to_string()).build())
            .build();
        self.bounded(async { Ok(self.collection.create_index(index).await.map(|_| ())?) }).await
    }

    pub async fn ping(&self) -> Result<(), InfoError> {
        self.bounded(async { Ok(self.database.run_command(doc! { "ping": 1 }).await.map(|_| ())?) }).await
    }

    /// Writes the initial content of a new client's document (idempotent: an upsert that sets
    /// the same values again when repeated). `comments` is for seeding; the API passes none.
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
            "preferences": to_document(preferences)?,
            "attributes": to_document(attributes)?,
            "tags": tags,
            "updated_at": now,
        };
        let mut skip = vec!["preferences", "attributes", "tags"];
        if !comments.is_empty() {
            let entries = comments.iter().map(comment_bson).collect::<Result<Vec<_>, _>>()?;
            set.insert("comments", entries);
            set.insert("comments_count", comments.len() as i64);
            skip.extend(["comments", "comments_count"]);
        }
        let update = doc! { "$setOnInsert": on_insert(client_id, now, &skip), "$set": set };
        self.bounded(async {
            self.collection.update_one(doc! { "client_id": client_id.to_string() }, update).upsert(true).await?;
            Ok(())
        })
        .await
    }

    /// Makes sure an (empty) document exists; used by reconcile.
    pub async fn ensure(&self, client_id: ClientId) -> Result<(), InfoError> {
        let now = bson::DateTime::now();
        let update = {
            let mut fields = on_insert(client_id, now, &[]);
            fields.insert("updated_at", now);
            doc! { "$setOnInsert": fields }
        };
        self.bounded(async {
            self.collection.update_one(doc! { "client_id": client_id.to_string() }, update).upsert(true).await?;
            Ok(())
        })
        .await
    }

    /// The document with at most `newest_comments` comments (all when `None`).
    pub async fn get(
        &self,
        client_id: ClientId,
        newest_comments: Option<i64>,
    ) -> Result<Option<ClientInfo>, InfoError> {
        let projection = match newest_comments {
            Some(n) => doc! { "_id": 0, "client_id": 0, "comments": { "$slice": n } },
            None => doc! { "_id": 0, "client_id": 0 },
        };
        self.bounded(async {
            let found = self
                .collection
                .clone_with_type::<InfoDoc>()
                .find_one(doc! { "client_id": client_id.to_string() })
                .projection(projection)
                .await?;
            Ok(found.map(ClientInfo::from))
        })
        .await
    }

    /// Prepends a comment (newest first) and counts it.
    pub async fn add_comment(&self, client_id: ClientId, comment: &Comment) -> Result<(), InfoError> {
        let now = bson::DateTime::now();
        let entry = comment_bson(comment)?;
        let update = doc! {
            "$setOnInsert": on_insert(client_id, now, &["comments", "comments_count"]),
            "$push": { "comments": { "$each": [entry], "$position": 0 } },
            "$inc": { "comments_count": 1_i64 },
            "$set": { "updated_at": now },
        };
        // A full document does not match the filter, so the upsert tries a second document for
        // the same client and the unique index refuses it: that refusal means "limit reached".
        let filter = doc! { "client_id": client_id.to_string(), "comments_count": { "$lt": MAX_COMMENTS } };
        self.bounded(async {
            match self.collection.update_one(filter, update).upsert(true).await {
                Ok(_) => Ok(()),
                Err(err) if is_duplicate_key(&err) => Err(InfoError::CommentLimit),
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// Removes one comment; `false` when the client has no such comment.
    pub async fn delete_comment(&self, client_id: ClientId, comment_id: CommentId) -> Result<bool, InfoError> {
        let filter = doc! { "client_id": client_id.to_string(), "comments.id": comment_id.to_string() };
        let update = doc! {
            "$pull": { "comments": { "id": comment_id.to_string() } },
            "$inc": { "comments_count": -1_i64 },
            "$set": { "updated_at": bson::DateTime::now() },
        };
        self.bounded(async { Ok(self.collection.update_one(filter, update).await?.modified_count > 0) }).await
    }

    /// Replaces preferences or attributes as a whole.
    pub async fn replace_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
        map: &Map<String, Value>,
    ) -> Result<(), InfoError> {
        let now = bson::DateTime::now();
        let mut set = Document::new();
        set.insert(which.field(), to_document(map)?);
        set.insert("updated_at", now);
        let update = doc! {
            "$setOnInsert": on_insert(client_id, now, &[which.field(), "rev"]),
            "$set": set,
            "$inc": { "rev": 1_i64 },
        };
        self.bounded(async {
            self.collection.update_one(doc! { "client_id": client_id.to_string() }, update).upsert(true).await?;
            Ok(())
        })
        .await
    }

    /// Applies an RFC 7396 merge patch to preferences or attributes and returns the result.
    /// Read-merge-write guarded by the document's `rev`, retried when another write won.
    pub async fn merge_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
        patch: &Map<String, Value>,
        check: impl Fn(&Map<String, Value>) -> Vec<FieldIssue>,
    ) -> Result<Map<String, Value>, InfoError> {
        for _ in 0..MERGE_ATTEMPTS {
            let current = self.read_map(client_id, which).await?;
            let exists = current.is_some();
            let (mut merged, rev) = current.unwrap_or_default();
            crate::domain::free_form::merge_patch(&mut merged, patch);
            let issues = check(&merged);
            if !issues.is_empty() {
                return Err(InfoError::Rejected(issues));
            }
            let now = bson::DateTime::now();
            let mut set = Document::new();
            set.insert(which.field(), to_document(&merged)?);
            set.insert("updated_at", now);
            let update = doc! {
                "$setOnInsert": on_insert(client_id, now, &[which.field(), "rev"]),
                "$set": set,
                "$inc": { "rev": 1_i64 },
            };
            let filter = doc! { "client_id": client_id.to_string(), "rev": rev };
            let outcome =
                self.bounded(async { Ok(self.collection.update_one(filter, update).upsert(!exists).await) }).await?;
            match outcome {
                Ok(result) if result.matched_count > 0 || result.upserted_id.is_some() => return Ok(merged),
                Ok(_) => continue,
                Err(err) if is_duplicate_key(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(InfoError::Contended)
    }

    /// One map of the document and the document's `rev`, read together.
    async fn read_map(
        &self,
        client_id: ClientId,
        which: InfoMap,
    ) -> Result<Option<(Map<String, Value>, i64)>, InfoError> {
        self.bounded(async {
            let found = self
                .collection
                .clone_with_type::<InfoDoc>()
                .find_one(doc! { "client_id": client_id.to_string() })
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

    pub async fn delete(&self, client_id: ClientId) -> Result<bool, InfoError> {
        self.bounded(async {
            Ok(self.collection.delete_one(doc! { "client_id": client_id.to_string() }).await?.deleted_count > 0)
        })
        .await
    }

    /// Every `client_id` that has a document (for reconcile; ids only, streamed).
    pub async fn client_ids(&self) -> Result<Vec<String>, InfoError> {
        let mut cursor = self.collection.find(doc! {}).projection(doc! { "_id": 0, "client_id": 1 }).await?;
        let mut ids = Vec::new();
        while let Some(document) = cursor.try_next().await? {
            if let Ok(id) = document.get_str("client_id") {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    pub async fn delete_by_raw_ids(&self, client_ids: &[String]) -> Result<u64, InfoError> {
        if client_ids.is_empty() {
            return Ok(0);
        }
        self.bounded(async {
            Ok(self.collection.delete_many(doc! { "client_id": { "$in": client_ids } }).await?.deleted_count)
        })
        .await
    }

    /// Documents and comments in total, computed by an aggregation pipeline on the server.
    pub async fn totals(&self) -> Result<InfoTotals, InfoError> {
        let pipeline = vec![doc! {
            "$group": { "_id": Bson::Null, "documents": { "$sum": 1 }, "comments": { "$sum": "$comments_count" } }
        }];
        self.bounded(async {
            let mut cursor = self.collection.aggregate(pipeline).await?;
            let Some(row) = cursor.try_next().await? else {
                return Ok(InfoTotals::default());
            };
            let number = |key: &str| match row.get(key) {
                Some(Bson::Int32(n)) => i64::from(*n),
                Some(Bson::Int64(n)) => *n,
                Some(Bson::Double(n)) => *n as i64,
                _ => 0,
            };
            Ok(InfoTotals { documents: number("documents"), comments: number("comments") })
        })
        .await
    }

    /// Drops the collection (`seed --reset`).
    pub async fn drop_collection(&self) -> Result<(), InfoError> {
        self.bounded(async { Ok(self.collection.drop().await?) }).await
    }
}
