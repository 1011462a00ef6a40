//! The TLS set-up every HTTP client of the crate shares (the client's, OAuth's): rustls with
//! ring as this client's own provider, the system's roots, and the caller's extra roots.

use crate::error::ConfigError;

/// A `reqwest::ClientBuilder` set up as this crate sets up its own (rustls with ring and the
/// system's roots, no redirects followed), to customize and give to
/// [`crate::ClientBuilder::http_client`].
pub fn reqwest_builder() -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls_config(&[])?))
}

/// TLS as reqwest would set it up (the system's roots, TLS 1.2 and 1.3, HTTP/2 by ALPN), with
/// ring as the crypto provider of this client only, and the caller's extra roots.
pub(crate) fn tls_config(extra_pem: &[Vec<u8>]) -> Result<rustls::ClientConfig, ConfigError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let setting = "root_certificates_pem";
    let mut roots = Vec::new();
    for pem in extra_pem {
        let before = roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.push(cert.map_err(|e| ConfigError::new(setting, format!("not PEM: {e}")))?);
        }
        if roots.len() == before {
            return Err(ConfigError::new(setting, "no certificate in the PEM given"));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls_error = |e: rustls::Error| ConfigError::new("tls", e.to_string());
    // What fails here with extra roots is one of them (a certificate that does not parse).
    let verifier_setting = if roots.is_empty() { "tls" } else { setting };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
            .map_err(|e| ConfigError::new(verifier_setting, e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
