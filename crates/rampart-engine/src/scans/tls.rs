//! TLS certificate basics of a website scan: one handshake with the address the scan
//! admitted, the certificate the server presents read whatever it is (self-signed, expired,
//! for another name: a scanner reports those, it does not refuse them), and judged apart
//! against the Mozilla root store (`webpki-roots`) for the host name, the way a browser would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the server's certificate says, and what a browser would make of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TlsCertificate {
    /// `TLSv1_3`, `TLSv1_2`.
    pub protocol: Option<String>,
    pub cipher_suite: Option<String>,
    /// Distinguished names, RFC 4514 style.
    pub subject: String,
    pub issuer: String,
    /// Hexadecimal.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Days until `not_after` (negative once expired).
    pub days_remaining: i64,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub subject_alt_names: Vec<String>,
    pub self_signed: bool,
    pub expired: bool,
    /// The certificate names the host scanned.
    pub name_matches: bool,
    /// The chain verifies against the Mozilla root store for the host name.
    pub trusted: bool,
    /// Why it is not trusted, as the verifier says (empty when trusted).
    pub problems: Vec<String>,
    /// Certificates the server sent (the end entity first).
    pub chain_length: usize,
}

/// The chain a server presented (end entity first) and the Mozilla-roots verdict on it.
type Presented = (Vec<CertificateDer<'static>>, Result<(), TlsError>);

/// Records the chain and the real verifier's verdict, then lets the handshake go on.
#[derive(Debug)]
struct Recorder {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Option<Presented>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let verdict = self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        *self.seen.lock().expect("recorder lock") = Some((chain, verdict));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Shakes hands with `address` naming `host` (SNI) and reads the certificate it presents.
pub async fn inspect(
    address: SocketAddr,
    host: &str,
    timeout: Duration,
    now: DateTime<Utc>,
) -> Result<TlsCertificate, String> {
    inspect_with_roots(address, host, timeout, now, mozilla_roots()).await
}

fn mozilla_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

async fn inspect_with_roots(
    address: SocketAddr,
    host: &str,
    timeout: Duration,
    now: DateTime<Utc>,
    roots: rustls::RootCertStore,
) -> Result<TlsCertificate, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
    let recorder = Arc::new(Recorder {
        webpki,
        provider: provider.clone(),
        seen: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let server_name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        connector
            .connect(server_name, stream)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))
    };
    let stream = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("TLS handshake with {address} timed out"))??;
    let (_, session) = stream.get_ref();
    let protocol = session.protocol_version().map(|v| format!("{v:?}"));
    let cipher_suite = session
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    let (chain, verdict) = recorder
        .seen
        .lock()
        .expect("recorder lock")
        .take()
        .ok_or_else(|| "the server presented no certificate".to_string())?;
    describe(&chain, verdict, protocol, cipher_suite, now)
}

/// The certificate of `chain[0]` as [`TlsCertificate`], with the verifier's `verdict`.
fn describe(
    chain: &[CertificateDer<'static>],
    verdict: Result<(), TlsError>,
    protocol: Option<String>,
    cipher_suite: Option<String>,
    now: DateTime<Utc>,
) -> Result<TlsCertificate, String> {
    let der = chain
        .first()
        .ok_or_else(|| "the server presented no certificate".to_string())?;
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("the server's certificate cannot be read: {e}"))?;
    let time = |t: x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or_default()
    };
    let not_before = time(cert.validity().not_before);
    let not_after = time(cert.validity().not_after);
    let mut subject_alt_names = Vec::new();
    if let Ok(Some(names)) = cert.subject_alternative_name() {
        for name in &names.value.general_names {
            match name {
                GeneralName::DNSName(dns) => subject_alt_names.push(dns.to_string()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(std::net::IpAddr::from),
                        _ => None,
                    };
                    subject_alt_names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    let name_matches = !matches!(
        verdict,
        Err(TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ))
    );
    let problems = match &verdict {
        Ok(()) => Vec::new(),
        Err(error) => vec![error.to_string()],
    };
    Ok(TlsCertificate {
        protocol,
        cipher_suite,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before,
        not_after,
        days_remaining: (not_after - now).num_days(),
        subject_alt_names,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        expired: now > not_after || now < not_before,
        name_matches,
        trusted: verdict.is_ok(),
        problems,
        chain_length: chain.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS server on 127.0.0.1 presenting `cert`; answers handshakes until dropped.
    async fn serve(
        cert: CertificateDer<'static>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> SocketAddr {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
        address
    }

    /// A self-signed certificate for `names`, valid from 2020 to 2099.
    fn self_signed(
        names: &[&str],
    ) -> (
        CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (
            cert.der().clone(),
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
    }

    #[tokio::test]
    async fn reads_a_self_signed_certificate_and_says_why_it_is_not_trusted() {
        let (cert, key) = self_signed(&["shop.example.test", "127.0.0.1"]);
        let address = serve(cert.clone(), key).await;
        let now = Utc::now();
        let seen = inspect(address, "shop.example.test", Duration::from_secs(10), now)
            .await
            .unwrap();
        assert_eq!(seen.protocol.as_deref(), Some("TLSv1_3"));
        assert!(seen.self_signed, "{seen:?}");
        assert!(!seen.trusted);
        assert!(seen.name_matches);
        assert!(!seen.expired);
        assert!(
            seen.problems[0].contains("UnknownIssuer"),
            "{:?}",
            seen.problems
        );
        assert_eq!(seen.subject_alt_names, ["shop.example.test", "127.0.0.1"]);
        assert_eq!(seen.chain_length, 1);
        assert_eq!(seen.not_after.to_rfc3339(), "2099-01-01T00:00:00+00:00");
        assert!(seen.days_remaining > 0, "{}", seen.days_remaining);

        // The same certificate trusted (its own root) but asked for another name.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let trusted = inspect_with_roots(
            address,
            "shop.example.test",
            Duration::from_secs(10),
            now,
            roots.clone(),
        )
        .await
        .unwrap();
        assert!(trusted.trusted, "{trusted:?}");
        assert!(trusted.problems.is_empty());
        let other = inspect_with_roots(
            address,
            "other.example.test",
            Duration::from_secs(10),
            now,
            roots,
        )
        .await
        .unwrap();
        assert!(!other.trusted);
        assert!(!other.name_matches, "{other:?}");

        // Seen from 2100, it has expired.
        let later = "2100-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let expired = describe(&[self_signed(&["x"]).0], Ok(()), None, None, later).unwrap();
        assert!(expired.expired);
        assert!(expired.days_remaining < 0);
    }

    #[tokio::test]
    async fn a_server_without_tls_is_an_error_not_a_certificate() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let error = inspect(address, "localhost", Duration::from_secs(10), Utc::now())
            .await
            .unwrap_err();
        assert!(error.contains("handshake"), "{error}");
    }
}
