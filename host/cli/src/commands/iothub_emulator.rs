//! `tether iothub-emulator`: the IoT Hub emulator in front of a mosquitto it starts
//! itself (or one given with `--broker`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tether_emulators::iothub::{HubConfig, IotHub, RateLimit, Registry, tls};

use super::run::{interrupted, tokio_runtime};

/// `tether iothub-emulator`.
pub fn run(args: &HubArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.registry)
        .with_context(|| format!("--registry {}", args.registry.display()))?;
    let registry = Registry::from_json(&text)
        .with_context(|| format!("--registry {}", args.registry.display()))?;
    let (cert_pem, key_pem) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (
            std::fs::read_to_string(cert).with_context(|| format!("--cert {}", cert.display()))?,
            std::fs::read_to_string(key).with_context(|| format!("--key {}", key.display()))?,
        ),
        (None, None) => {
            let (cert, key) = tls::self_signed(&args.host_name)?;
            if let Some(path) = &args.write_ca {
                std::fs::write(path, &cert)
                    .with_context(|| format!("--write-ca {}", path.display()))?;
            }
            (cert, key)
        }
        _ => anyhow::bail!("--cert and --key go together"),
    };
    if args.connections_per_second == 0 {
        anyhow::bail!("--connections-per-second must be at least 1");
    }
    let mut own_broker = None;
    let broker = match &args.broker {
        Some(address) => address
            .parse::<SocketAddr>()
            .with_context(|| format!("--broker {address}: not IP:PORT"))?,
        None => {
            let b = Mosquitto::start()?;
            let address = b.address;
            own_broker = Some(b);
            address
        }
    };
    let mut config = HubConfig::new(args.host_name.clone(), cert_pem, key_pem, broker);
    config.mqtt_port = args.port;
    config.websocket_port = args.websocket_port;
    config.rate_limit = RateLimit {
        connections: args.connections_per_second,
        per: Duration::from_secs(1),
    };
    config.registry = registry;
    let identities = config.registry.len();
    tokio_runtime()?.block_on(async {
        let hub = IotHub::start(config).await?;
        println!(
            "IoT Hub emulator for {} ({identities} identities): mqtts://{} , wss://{}/$iothub/websocket",
            hub.host_name(),
            hub.mqtt_address(),
            hub.websocket_address()
        );
        println!(
            "broker behind it: {broker}{}; Ctrl-C ends it",
            if own_broker.is_some() {
                " (mosquitto started for it)"
            } else {
                ""
            }
        );
        interrupted().await;
        let c = hub.counters();
        println!(
            "accepted {}, refused {:?}, closed {:?}",
            c.accepted, c.refused, c.closed
        );
        Ok::<(), anyhow::Error>(())
    })?;
    drop(own_broker);
    Ok(())
}

/// The options of `tether iothub-emulator`.
#[derive(Debug, clap::Args)]
pub struct HubArgs {
    /// The hub's host name: in user names, token resource URIs and the
    /// self-signed certificate.
    #[arg(long, default_value = "hub-a.localhost")]
    pub host_name: String,
    /// The registry file (JSON): `{"devices": [{"deviceId": "d1", "primaryKey":
    /// "<base64>", "secondaryKey": ...}, {"deviceId": "d1", "moduleId": "m", ...},
    /// {"deviceId": "cam", "thumbprint": "<sha-256 hex>"}, {"deviceId": "cam2",
    /// "caPem": "-----BEGIN CERTIFICATE-----..."}, ... "enabled": false]}`.
    #[arg(long, value_name = "FILE")]
    pub registry: PathBuf,
    /// The loopback port for MQTT over TLS (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The loopback port for MQTT over secure WebSockets (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub websocket_port: u16,
    /// The server certificate chain, PEM (with --key); without both, a self-signed
    /// certificate for --host-name is made.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The server key, PEM.
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Where to write the self-signed certificate (what clients trust).
    #[arg(long, value_name = "PEM", conflicts_with = "cert")]
    pub write_ca: Option<PathBuf>,
    /// New connections allowed per second (100: one S1 unit); the excess is closed
    /// without a CONNACK.
    #[arg(long, default_value_t = 100)]
    pub connections_per_second: u32,
    /// Use this anonymous plain-MQTT broker (IP:PORT) instead of starting
    /// mosquitto.
    #[arg(long, value_name = "IP:PORT")]
    pub broker: Option<String>,
}

/// A mosquitto on a free loopback port, anonymous, without persistence; killed
/// when dropped.
struct Mosquitto {
    child: Child,
    address: SocketAddr,
    dir: PathBuf,
}

impl Mosquitto {
    fn start() -> anyhow::Result<Mosquitto> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("tether-iothub-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("mosquitto does not start (scripts/setup installs it)")?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut broker = Mosquitto {
            child,
            address,
            dir,
        };
        let deadline = Instant::now()
            .checked_add(Duration::from_secs(10))
            .unwrap_or_else(Instant::now);
        while TcpStream::connect(address).is_err() {
            if Instant::now() >= deadline || broker.child.try_wait()?.is_some() {
                anyhow::bail!("mosquitto does not accept connections on {address}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(broker)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
