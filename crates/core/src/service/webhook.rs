//! The optional changes webhook (`CHANGES_WEBHOOK_URL`): each refresh that recorded
//! events leaves them here, and [`Service::deliver_changes`] POSTs them after the
//! response (`ctx.wait_until` in the Worker), one JSON POST per refresh.
//!
//! A delivery is one attempt with a deadline ([`WEBHOOK_TIMEOUT_MS`]): no retries (the
//! feed keeps the events for a receiver that missed some), so a failing receiver costs
//! one bounded request per changed refresh and never delays or fails the refresh
//! itself. Outcomes are counted per market (`/metrics`); the URL is never logged.

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::json;

use super::Service;
use crate::feed::Recorded;
use crate::keys;
use crate::log::Level;
use crate::ports::{Clock, Cmd, Http, HttpRequest, Store};

/// Deadline of one webhook POST, response included.
pub const WEBHOOK_TIMEOUT_MS: u64 = 5_000;
/// Batches waiting at most; a further one drops the oldest (counted as failed), so a
/// process that never delivers does not grow.
pub const OUTBOX_MAX: usize = 16;

/// Refreshes' events waiting for their POST (one isolate's; single-threaded).
#[derive(Default)]
pub struct Outbox {
    queue: RefCell<VecDeque<Recorded>>,
    /// Per market: batches dropped because the outbox was full, not yet counted.
    dropped: RefCell<[i64; 2]>,
}

impl Outbox {
    /// Queues one refresh's events; the batch it pushed out, if the outbox was full.
    pub(crate) fn push(&self, batch: Recorded) -> Option<Recorded> {
        let mut q = self.queue.borrow_mut();
        let dropped = (q.len() >= OUTBOX_MAX).then(|| q.pop_front()).flatten();
        q.push_back(batch);
        dropped
    }

    fn take(&self) -> Vec<Recorded> {
        self.queue.borrow_mut().drain(..).collect()
    }

    /// Batches waiting.
    pub fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: Store, H: Http, C: Clock> Service<S, H, C> {
    /// Queues a refresh's events for the webhook (nothing when none is configured or
    /// there are no events).
    pub(crate) fn queue_changes(&self, batch: Recorded) {
        if self.config.changes_webhook_url.is_none() || batch.events.is_empty() {
            return;
        }
        if let Some(dropped) = self.outbox.push(batch) {
            self.log.emit(
                Level::Warn,
                "changes_webhook",
                json!({"market": dropped.market.as_str(), "ok": false, "why": "outbox full", "events": dropped.events.len()}),
            );
            self.outbox.dropped.borrow_mut()[dropped.market.index()] += 1;
        }
    }

    /// Refreshes' events waiting for the webhook.
    pub fn pending_changes(&self) -> usize {
        self.outbox.len()
    }

    /// POSTs every waiting batch to `CHANGES_WEBHOOK_URL`, once each, and counts the
    /// outcomes. Meant to run after the response; returns how many were delivered (2xx).
    pub async fn deliver_changes(&self) -> usize {
        let Some(url) = self.config.changes_webhook_url.clone() else {
            return 0;
        };
        let mut delivered = 0;
        let dropped = std::mem::take(&mut *self.outbox.dropped.borrow_mut());
        let counts: Vec<Cmd> = crate::Market::ALL
            .iter()
            .filter(|m| dropped[m.index()] > 0)
            .map(|&m| Cmd::IncrBy(keys::changes_webhook(m, false), dropped[m.index()]))
            .collect();
        if !counts.is_empty() {
            let _ = self.store.exec(counts).await;
        }
        for batch in self.outbox.take() {
            let started = self.clock.now_ms();
            let req = HttpRequest {
                url: url.clone(),
                headers: Vec::new(),
                timeout_ms: WEBHOOK_TIMEOUT_MS,
            };
            let result = self.http.post_json(req, batch.webhook_body()).await;
            let ok = matches!(result, Ok(s) if (200..300).contains(&s));
            delivered += usize::from(ok);
            let mut fields = json!({
                "market": batch.market.as_str(),
                "ok": ok,
                "events": batch.events.len(),
                "duration_ms": self.clock.now_ms().saturating_sub(started),
            });
            match &result {
                Ok(status) => fields["status"] = (*status).into(),
                // The error text never names the URL (`without_url`), but only its kind is
                // logged: the URL is a secret.
                Err(e) => fields["error"] = error_kind(e).into(),
            }
            self.log.emit(
                if ok { Level::Info } else { Level::Warn },
                "changes_webhook",
                fields,
            );
            // Counted even when Redis is down for it: a lost count, never a lost refresh.
            let _ = self
                .store
                .exec(vec![Cmd::IncrBy(
                    keys::changes_webhook(batch.market, ok),
                    1,
                )])
                .await;
        }
        delivered
    }
}

fn error_kind(e: &crate::ports::HttpError) -> &'static str {
    match e {
        crate::ports::HttpError::Timeout => "timeout",
        crate::ports::HttpError::Network(_) => "network",
    }
}
