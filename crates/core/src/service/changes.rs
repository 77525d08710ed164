//! The changes feed as the service reads it: a page at a time, unreadable entries
//! logged (the feed's format and reading are [`crate::feed`]'s).

use serde_json::json;

use super::Service;
use crate::feed::{self, Page, Since};
use crate::log::Level;
use crate::market::Market;
use crate::ports::{Clock, Http, Store, StoreError};

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// One page of `market`'s changes from `since`, at most `limit` events: one round
    /// trip, two for `since=<version>` (its time is looked up first).
    ///
    /// # Errors
    /// The store's error.
    pub async fn changes(
        &self,
        market: Market,
        since: &Since,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.changes_via(&self.store, market, since, limit).await
    }

    /// [`Service::changes`] through `store` (the Worker's counting view of this service's).
    ///
    /// # Errors
    /// The store's error.
    pub async fn changes_via(
        &self,
        store: &impl Store,
        market: Market,
        since: &Since,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (page, skipped) = feed::page(store, market, since, limit).await?;
        if skipped > 0 {
            self.log.emit(
                Level::Warn,
                "changes_unreadable",
                json!({"market": market.as_str(), "skipped": skipped}),
            );
        }
        Ok(page)
    }
}
