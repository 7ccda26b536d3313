//! TLS trust for the voice gateway: the webpki roots (what Discord's certificates chain to), plus
//! the CA certificates of a PEM file when `CLANKVOX_CA_FILE` names one (the sandbox voice
//! server's own CA). A file that cannot be read or holds no certificate fails the connect with
//! an error naming the file; it never panics.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The environment variable naming an extra CA file (PEM).
pub const CA_FILE_ENV: &str = "CLANKVOX_CA_FILE";

/// A client config trusting the webpki roots and, if `ca_file` is given, its certificates.
pub fn client_config(ca_file: Option<&str>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {path} ({CA_FILE_ENV}): {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the CA file {path} ({CA_FILE_ENV}) is not valid PEM: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "the CA file {path} ({CA_FILE_ENV}) holds no certificate"
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                format!("the CA file {path} ({CA_FILE_ENV}) holds an unusable certificate: {e}")
            })?;
        }
    }
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The config from the environment (`CLANKVOX_CA_FILE`, unset or empty: webpki roots only).
pub fn client_config_from_env() -> Result<Arc<ClientConfig>, String> {
    let path = std::env::var(CA_FILE_ENV)
        .ok()
        .filter(|p| !p.trim().is_empty());
    client_config(path.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error_naming_it() {
        let missing = client_config(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let dir = std::env::temp_dir().join(format!("clankvox-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(empty.to_str().unwrap())).unwrap_err();
        assert!(err.contains("holds no certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_ca_file_means_the_webpki_roots() {
        assert!(client_config(None).is_ok());
    }
}
