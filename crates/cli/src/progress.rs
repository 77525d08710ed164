//! Progress on stderr while Binance is called: [`Observed`] wraps the service's [`Http`]
//! port and reports each upstream attempt to a [`Board`]; [`drive`] redraws one spinner
//! line from it while a future runs. Only when stderr is a terminal; silent otherwise.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use symbols_core::ports::{Http, HttpError, HttpRequest, HttpResponse};
use symbols_core::Market;

use crate::output::{bytes, duration_ms};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// What each market is doing right now.
pub struct Board {
    enabled: bool,
    phases: RefCell<Vec<(Market, String, Instant)>>,
    frame: Cell<usize>,
    drawn: Cell<bool>,
}

impl Board {
    /// A board that draws only when `enabled`.
    pub fn new(enabled: bool) -> Rc<Board> {
        Rc::new(Board {
            enabled,
            phases: RefCell::new(Vec::new()),
            frame: Cell::new(0),
            drawn: Cell::new(false),
        })
    }

    /// Draws when stderr is a terminal.
    pub fn for_stderr() -> Rc<Board> {
        Board::new(std::io::stderr().is_terminal())
    }

    /// Sets `market`'s current phase (its clock starts on the first call).
    pub fn set(&self, market: Market, phase: impl Into<String>) {
        let mut phases = self.phases.borrow_mut();
        match phases.iter_mut().find(|(m, ..)| *m == market) {
            Some(entry) => entry.1 = phase.into(),
            None => phases.push((market, phase.into(), Instant::now())),
        }
    }

    /// `market` is finished: drops it from the line.
    pub fn done(&self, market: Market) {
        self.phases.borrow_mut().retain(|(m, ..)| *m != market);
    }

    fn line(&self) -> String {
        let frame = FRAMES[self.frame.get() % FRAMES.len()];
        let parts: Vec<String> = self
            .phases
            .borrow()
            .iter()
            .map(|(m, phase, since)| {
                format!(
                    "{m}: {phase} {}",
                    duration_ms(since.elapsed().as_millis() as u64)
                )
            })
            .collect();
        let text = format!("{frame} {}", parts.join(" · "));
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(100)
            .max(20);
        text.chars().take(columns - 1).collect()
    }

    fn draw(&self) {
        if self.phases.borrow().is_empty() {
            self.clear();
            return;
        }
        self.frame.set(self.frame.get() + 1);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", self.line());
        let _ = err.flush();
        self.drawn.set(true);
    }

    fn clear(&self) {
        if self.drawn.replace(false) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Runs `fut`, redrawing the board's spinner line every 100 ms when it is enabled, and
/// clears the line before returning.
pub async fn drive<F: Future>(board: &Board, fut: F) -> F::Output {
    if !board.enabled {
        return fut.await;
    }
    let mut fut = std::pin::pin!(fut);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            out = &mut fut => {
                board.clear();
                return out;
            }
            _ = tick.tick() => board.draw(),
        }
    }
}

/// The market an exchangeInfo URL belongs to.
fn market_of(url: &str) -> Market {
    if url.contains("/fapi/") {
        Market::Futures
    } else {
        Market::Spot
    }
}

/// `scheme://host[:port]` of a URL (the path and query are noise on one line).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The service's [`Http`] port with progress reports: the same requests, unchanged.
pub struct Observed<H> {
    inner: H,
    board: Rc<Board>,
}

impl<H> Observed<H> {
    /// Wraps `inner`, reporting to `board`.
    pub fn new(inner: H, board: Rc<Board>) -> Self {
        Self { inner, board }
    }
}

impl<H: Http> Http for Observed<H> {
    async fn get(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let market = market_of(&req.url);
        let from = origin(&req.url).to_string();
        let keyed = if req.headers.is_empty() {
            ""
        } else {
            " with API key"
        };
        self.board.set(market, format!("fetching {from}{keyed}…"));
        let started = Instant::now();
        let res = self.inner.get(req).await;
        let took = duration_ms(started.elapsed().as_millis() as u64);
        let phase = match &res {
            Ok(r) if r.status == 200 => {
                format!(
                    "{from}: HTTP 200, {} in {took}; parsing, validating, storing…",
                    bytes(r.body.len() as u64)
                )
            }
            Ok(r) => format!("{from}: HTTP {} after {took}…", r.status),
            Err(e) => format!("{from}: {e} after {took}…"),
        };
        self.board.set(market, phase);
        res
    }

    async fn post_json(&self, req: HttpRequest, body: Vec<u8>) -> Result<u16, HttpError> {
        self.inner.post_json(req, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            market_of("https://fapi.binance.com/fapi/v1/exchangeInfo"),
            Market::Futures
        );
        assert_eq!(
            market_of("http://127.0.0.1:9/api/v3/exchangeInfo?showPermissionSets=false"),
            Market::Spot
        );
        assert_eq!(
            origin("https://api.binance.com/api/v3/exchangeInfo?x=1"),
            "https://api.binance.com"
        );
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn the_board_tracks_phases() {
        let b = Board::new(false);
        b.set(Market::Spot, "fetching");
        b.set(Market::Futures, "parsing");
        b.set(Market::Spot, "storing");
        let line = b.line();
        assert!(
            line.contains("spot: storing") && line.contains("futures: parsing"),
            "{line}"
        );
        b.done(Market::Spot);
        assert!(!b.line().contains("spot"));
    }
}
