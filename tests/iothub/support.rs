//! Support for `tests/iothub_emulator.rs`: certificates (rcgen), the lab
//! (mosquitto and the emulator), CONNECT fields and tokens minted by the tether
//! component, and a rumqttc client whose event loop runs in a task.

use super::*;

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A throwaway certificate authority (rcgen, ring, ECDSA P-256).
pub struct TestCa {
    pub issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// The hub's server certificate: `HOST`, `localhost`, `127.0.0.1`.
    pub fn server(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![
            HOST.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        params.distinguished_name.push(DnType::CommonName, HOST);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client certificate with common name `cn`.
    pub fn client(&self, cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
        )
    }
}

/// A self-signed client certificate with common name `cn`.
pub fn self_signed_client(cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
    )
}

pub fn client_tls(
    ca_pem: &str,
    client_cert: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match client_cert {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    })
}

// ---------------------------------------------------------------------------
// The lab: mosquitto, the emulator, the component
// ---------------------------------------------------------------------------

pub struct Lab {
    pub broker: Broker,
    pub hub: IotHub,
    pub ca: TestCa,
}

impl Lab {
    pub async fn start(configure: impl FnOnce(&mut HubConfig)) -> Lab {
        let broker = Broker::start().unwrap();
        let ca = TestCa::new("hub test CA");
        let (cert, key) = ca.server();
        let mut config = HubConfig::new(HOST, cert, key, broker.address().parse().unwrap());
        for device in ["dev-1", "dev-2"] {
            config.registry.insert(
                IdentityId::device(device),
                Identity {
                    credential: Credential::Keys {
                        primary: decode(KEY),
                        secondary: None,
                    },
                    enabled: true,
                },
            );
        }
        configure(&mut config);
        let hub = IotHub::start(config).await.unwrap();
        Lab { broker, hub, ca }
    }

    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        client_tls(&self.ca.pem, None)
    }

    /// rumqttc options for a device link to the emulator (MQTT 3.1.1, TLS).
    pub fn options(&self, login: &Login, tls: Arc<rustls::ClientConfig>) -> MqttOptions {
        let mut o = MqttOptions::new(
            login.client_id.clone(),
            "127.0.0.1",
            self.hub.mqtt_address().port(),
        );
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_credentials(login.user_name.clone(), login.password.clone());
        o
    }

    /// A subscriber on mosquitto itself (behind the emulator), ready.
    pub async fn subscriber(&self, filter: &str) -> Running {
        let port = self.broker.port();
        let mut o = MqttOptions::new(format!("observer-{}", unique()), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(o, 16);
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        loop {
            match events.poll().await.unwrap() {
                Event::Incoming(Incoming::SubAck(_)) => break,
                _ => continue,
            }
        }
        Running::spawn(client, events)
    }
}

pub fn decode(key: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap()
}

pub fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What a device sends in its CONNECT.
#[derive(Clone)]
pub struct Login {
    pub client_id: String,
    pub user_name: String,
    pub password: String,
}

/// The CONNECT fields of connection string `cs`, with a token valid until
/// `expiry`, all computed by the tether component.
pub fn component_login(cs: &str, expiry: u64) -> Login {
    let mut instance = tether_tests::runtime().instantiate_real().unwrap();
    let identity = instance.parse_connection_string(cs).unwrap();
    let settings = instance
        .hub_mqtt_settings(
            &identity,
            &ComponentMqttOptions {
                api_version: None,
                user_agent: Some("DeviceClientType=tether-tests".to_string()),
                model_id: None,
                keep_alive_s: None,
            },
        )
        .unwrap();
    let password = if cs.contains("x509=true") {
        String::new()
    } else {
        instance.connection_string_token(cs, expiry).unwrap()
    };
    Login {
        client_id: settings.client_id,
        user_name: settings.user_name,
        password,
    }
}

pub fn device_cs(device: &str, key: &str) -> String {
    format!("HostName={HOST};DeviceId={device};SharedAccessKey={key}")
}

/// A token for `resource`, signed with `key`, by the component.
pub fn component_token(resource: &str, key: &str, expiry: u64) -> String {
    let mut instance = tether_tests::runtime().instantiate_real().unwrap();
    instance.sas_token(resource, key, None, expiry).unwrap()
}

/// A connected client whose event loop runs in a task: publishes it receives
/// arrive on `publishes`, and `ended` yields the error that closed the link.
pub struct Running {
    pub client: AsyncClient,
    pub publishes: mpsc::UnboundedReceiver<Publish>,
    pub subacks: mpsc::UnboundedReceiver<SubAck>,
    pub ended: JoinHandle<ConnectionError>,
}

impl Running {
    pub fn spawn(client: AsyncClient, mut events: EventLoop) -> Running {
        let (tx, publishes) = mpsc::unbounded_channel();
        let (sub_tx, subacks) = mpsc::unbounded_channel();
        let ended = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        let _ = tx.send(p);
                    }
                    Ok(Event::Incoming(Incoming::SubAck(a))) => {
                        let _ = sub_tx.send(a);
                    }
                    Ok(_) => {}
                    Err(e) => return e,
                }
            }
        });
        Running {
            client,
            publishes,
            subacks,
            ended,
        }
    }

    pub async fn next_suback(&mut self) -> SubAck {
        tokio::time::timeout(Duration::from_secs(10), self.subacks.recv())
            .await
            .expect("no SUBACK within 10 s")
            .expect("the event loop ended")
    }

    pub async fn next_publish(&mut self) -> Publish {
        tokio::time::timeout(Duration::from_secs(10), self.publishes.recv())
            .await
            .expect("no publish within 10 s")
            .expect("the event loop ended")
    }

    /// Wait (at most 30 s) for the link to close and return why.
    pub async fn closed(self) -> ConnectionError {
        tokio::time::timeout(Duration::from_secs(30), self.ended)
            .await
            .expect("the link stayed open")
            .unwrap()
    }
}

/// Connect with `options`: the CONNACK, or the error that came instead.
pub async fn connect(options: MqttOptions) -> Result<(Running, ConnAck), ConnectionError> {
    let (client, mut events) = AsyncClient::new(options, 16);
    let ack = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(ack))) => return Ok(ack),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("neither CONNACK nor an error within 15 s")?;
    Ok((Running::spawn(client, events), ack))
}

#[track_caller]
pub fn assert_not_authorized(result: Result<(Running, ConnAck), ConnectionError>) {
    match result {
        Err(ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized)) => {}
        Err(e) => panic!("expected CONNACK 5 (not authorized), got {e:?}"),
        Ok(_) => panic!("expected CONNACK 5 (not authorized), got CONNACK 0"),
    }
}

/// Wait (at most 10 s) until the counters satisfy `ok`, and return them.
pub async fn counters_when(hub: &IotHub, ok: impl Fn(&Counters) -> bool) -> Counters {
    for _ in 0..100 {
        let c = hub.counters();
        if ok(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hub.counters()
}
