//! A TCP proxy on 127.0.0.1 between a server and PostgreSQL that fails on
//! command: it can stall every connection (stop forwarding without closing,
//! as a hung primary or a half-open network path does), cut them all, and
//! resume forwarding for new connections while stalled ones stay stalled.

use std::{net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Forward,
    Stall,
    Cut,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    tasks: Arc<std::sync::Mutex<JoinSet<()>>>,
}

impl FaultProxy {
    /// Forwards to `upstream` (host:port) until told otherwise.
    pub async fn start(upstream: String) -> Self {
        Self::start_in(upstream, Mode::Forward).await
    }

    /// Refuses service (accepts and closes) until `resume`, as a database
    /// that is not up yet.
    pub async fn start_cut(upstream: String) -> Self {
        Self::start_in(upstream, Mode::Cut).await
    }

    async fn start_in(upstream: String, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let (mode, modes) = watch::channel(mode);
        let tasks = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let spawner = tasks.clone();
        tasks.lock().unwrap().spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let modes = modes.clone();
                let upstream = upstream.clone();
                spawner
                    .lock()
                    .unwrap()
                    .spawn(relay(client, upstream, modes));
            }
        });
        Self { addr, mode, tasks }
    }

    /// A PostgreSQL URL like `database_url` that goes through the proxy.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    /// Every open connection stops forwarding, and new ones are accepted
    /// and never answered.
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Every connection is closed, and new ones are closed at once.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// New connections are forwarded again; stalled ones stay stalled.
    pub fn resume(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.abort_all();
        }
    }
}

/// The host:port of a PostgreSQL URL.
pub fn upstream_of(database_url: &str) -> String {
    let url = url::Url::parse(database_url).expect("a database URL");
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
}

async fn relay(mut client: TcpStream, upstream: String, mut modes: watch::Receiver<Mode>) {
    let mode = *modes.borrow_and_update();
    match mode {
        Mode::Cut => return,
        Mode::Stall => return stalled(client, None, modes).await,
        Mode::Forward => {}
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        tokio::select! {
            // A change of mode first: bytes that arrive after a stall began
            // are never forwarded, however late this task runs.
            biased;
            changed = modes.changed() => {
                if changed.is_err() {
                    return;
                }
                let mode = *modes.borrow_and_update();
                match mode {
                    Mode::Cut => return,
                    Mode::Stall => return stalled(client, Some(server), modes).await,
                    Mode::Forward => {}
                }
            }
            read = client.read(&mut up) => match read {
                Ok(n) if n > 0 => {
                    if server.write_all(&up[..n]).await.is_err() {
                        return;
                    }
                }
                _ => return,
            },
            read = server.read(&mut down) => match read {
                Ok(n) if n > 0 => {
                    if client.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
                _ => return,
            },
        }
    }
}

/// Holds the sockets open, reading and writing nothing, until a cut.
async fn stalled(client: TcpStream, server: Option<TcpStream>, mut modes: watch::Receiver<Mode>) {
    while modes.changed().await.is_ok() {
        if *modes.borrow_and_update() == Mode::Cut {
            break;
        }
    }
    drop((client, server));
}
