// Shared by several test binaries; each uses its own part of it.
#![allow(dead_code)]

//! redis-server (testkit) plus the gateway on its own small runtime, usable from sync and async
//! tests alike; both stop on drop.

use testkit::RedisServer;
use tokio::sync::oneshot;

pub const TOKEN: &str = "itest-SECRET-token-0123456789";

pub struct Stack {
    pub redis: RedisServer,
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Stack {
    pub fn start() -> Stack {
        let redis = RedisServer::start();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("gateway runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind gateway");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("gateway addr");
        let config = upstash_gateway::Config {
            listen: addr.to_string(),
            redis_url: redis.url(),
            token: Some(TOKEN.to_string()),
            ..Default::default()
        };
        if std::env::var_os(upstash_gateway::log::LOG_ENV).is_none() {
            upstash_gateway::log::set_max_level(upstash_gateway::log::Level::Off);
        }
        let (tx, rx) = oneshot::channel::<()>();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = upstash_gateway::run(listener, config, shutdown).await {
                eprintln!("gateway stopped: {e}");
            }
        });
        Stack {
            redis,
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            rt: Some(rt),
        }
    }

    pub fn connection(&self) -> upstash_rest::Connection {
        upstash_rest::Connection::new(&self.url, Some(TOKEN)).expect("valid connection")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
