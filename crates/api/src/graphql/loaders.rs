//! DataLoaders: nested fields load through these, so a page of N objects
//! costs one query per kind of object, not N.
//!
//! Each slice declares its own loaders (a type implementing `RequestLoader`
//! and async-graphql's `Loader`); the request makes one of each kind the
//! first time a resolver asks for it. They live in the request's data and
//! cache there, so nothing cached crosses users or tenants.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    hash::Hash,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Iterable, ModelTrait, PrimaryKeyToColumn,
    QueryFilter, QueryOrder, Value, sea_query::ValueType,
};

use crate::{
    Core,
    counters::{self, Counter},
    error::AppError,
    ids::OrganizationId,
};

pub type Cached<L> = DataLoader<L, HashMapCache>;

/// A loader a request makes when a resolver first asks for it.
pub trait RequestLoader: Send + Sync + Sized + 'static {
    fn new(core: &Arc<Core>) -> Self;
}

/// The loaders of one request, made on first use.
pub struct Loaders {
    core: Arc<Core>,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub fn new(core: &Arc<Core>) -> Arc<Self> {
        Arc::new(Self {
            core: core.clone(),
            made: Mutex::default(),
        })
    }

    /// The request's loader of kind `L`.
    pub fn get<L: RequestLoader>(&self) -> Arc<Cached<L>> {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let loader = made.entry(TypeId::of::<L>()).or_insert_with(|| {
            Arc::new(DataLoader::with_cache(
                L::new(&self.core),
                crate::db::spawn_in_operation,
                HashMapCache::default(),
            ))
        });
        loader
            .clone()
            .downcast()
            .expect("loaders are stored under their own type")
    }
}

/// What an id column's values are: a typed id (or another value type) that
/// goes into queries and comes back out of rows.
pub trait KeyValue: Into<Value> + ValueType + Clone + Eq + Hash + Send + Sync + 'static {}

impl<T: Into<Value> + ValueType + Clone + Eq + Hash + Send + Sync + 'static> KeyValue for T {}

/// Rows of one table by primary key: the loader behind every "load this
/// entity by id" in the schema (nested fields and `node`).
pub struct RowsById<E, K>(DatabaseConnection, PhantomData<fn() -> (E, K)>);

impl<E: 'static, K: 'static> RequestLoader for RowsById<E, K> {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone(), PhantomData)
    }
}

impl<E, K> Loader<K> for RowsById<E, K>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync,
    K: KeyValue,
{
    type Value = E::Model;
    type Error = AppError;

    async fn load(&self, keys: &[K]) -> Result<HashMap<K, Self::Value>, Self::Error> {
        let Some(key) = E::PrimaryKey::iter().next() else {
            return Ok(HashMap::new());
        };
        let column = key.into_column();
        Ok(E::find()
            .filter(column.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?
            .into_iter()
            .filter_map(|row| Some((<K as ValueType>::try_from(row.get(column)).ok()?, row)))
            .collect())
    }
}

/// A list of rows that belong to a parent through one column, as a loader
/// reads it (`RowsByColumn<B>`).
pub trait ByColumn: Send + Sync + 'static {
    type Entity: EntityTrait<Model: Clone + Send + Sync, Column: Send + Sync>;
    type Key: KeyValue;
    const COLUMN: <Self::Entity as EntityTrait>::Column;
}

/// Rows of one table by the value of one column, newest first (ids are
/// UUIDv7, so id order is creation order): every "list of X of this parent"
/// that is not paged.
pub struct RowsByColumn<B>(DatabaseConnection, PhantomData<fn() -> B>);

impl<B: ByColumn> RequestLoader for RowsByColumn<B> {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone(), PhantomData)
    }
}

impl<B: ByColumn> Loader<B::Key> for RowsByColumn<B> {
    type Value = Vec<<B::Entity as EntityTrait>::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[B::Key]) -> Result<HashMap<B::Key, Self::Value>, Self::Error> {
        let mut query = B::Entity::find().filter(B::COLUMN.is_in(keys.iter().cloned()));
        if let Some(key) = <B::Entity as EntityTrait>::PrimaryKey::iter().next() {
            query = query.order_by_desc(key.into_column());
        }
        let mut out: HashMap<B::Key, Self::Value> = HashMap::new();
        for row in query.all(&self.0).await? {
            if let Ok(parent) = <B::Key as ValueType>::try_from(row.get(B::COLUMN)) {
                out.entry(parent).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// Per-organization counters (`totalCount`s and usage) of any slice, so a
/// request's counts (of members, projects, every metered resource in the
/// entitlements) are one statement however many fields ask.
pub struct Counters(DatabaseConnection);

impl RequestLoader for Counters {
    fn new(core: &Arc<Core>) -> Self {
        Self(core.db.clone())
    }
}

impl Loader<(OrganizationId, Counter)> for Counters {
    type Value = u64;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(OrganizationId, Counter)],
    ) -> Result<HashMap<(OrganizationId, Counter), u64>, Self::Error> {
        let mut organizations: Vec<OrganizationId> = keys.iter().map(|(o, _)| *o).collect();
        organizations.sort_unstable_by_key(|o| o.0);
        organizations.dedup();
        let mut names: Vec<Counter> = Vec::new();
        for (_, counter) in keys {
            if !names.contains(counter) {
                names.push(*counter);
            }
        }
        // The cross product is read; the keys asked for are kept.
        let mut values = counters::read(&self.0, &organizations, &names).await?;
        Ok(keys
            .iter()
            .map(|key| (*key, values.remove(key).unwrap_or(0)))
            .collect())
    }
}
