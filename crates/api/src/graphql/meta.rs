use async_graphql::Object;

#[derive(Default)]
pub struct MetaQuery;

#[Object]
impl MetaQuery {
    /// The version of the Groundwork server answering.
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
