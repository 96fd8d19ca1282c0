//! Workloads: messages of N KiB, the 20 000-domain providers index, and the hot-path
//! workloads shared by `pec bench` and `cargo bench -p pec-core --bench core`.
//!
//! Workloads (operations per second):
//! - `sign-envelope-10k`, `sign-envelope-1m`: build a transport envelope around a 10 KiB /
//!   1 MiB original with `Provider::build` and sign it with a `SoftwareSigner`;
//! - `verify-envelope-10k`, `verify-envelope-1m`: full `verify_message` of such an envelope
//!   (digest, RSA signature, chain to the test root, CRL from the store, providers index);
//! - `verify-floor-10k`: the two operations no verification of the 10 KiB envelope can skip,
//!   with the primitives `verify_message` uses (aws-lc through `pec_core::crypto`, the signer's
//!   parsed key cached as there): one SHA-256 over its signed bytes, compared with the signed
//!   messageDigest, and one RSA verification of the signed attributes. Nothing is parsed per
//!   operation: `verify-envelope-10k` divided by this is how much of its ceiling pec reaches;
//! - `parse-10k`: `PecMessage::parse` (which classifies) of the 10 KiB envelope;
//! - `index-lookup`: a domain look-up in a 20 000-domain providers index.

use std::time::{Duration, Instant};

use base64::Engine as _;
use pec_core::build::{BuildRequest, TimeReference};
use pec_core::index::{Directory, ProviderDirectory, ProviderRecord};
use pec_core::model::MessageKind;
use pec_core::provider::Provider;
use pec_core::signer::SoftwareSigner;
use pec_core::smime::VerifyOptions;
use pec_core::{Error, PecMessage, Result, verify_message};

use crate::scenario::{EXAMPLE, OTHER, TwoProviders};

/// A user's message of about `size` bytes (`From:` `mario.rossi@pec.example.it`, `To:`
/// `protocollo@pec.other.it`): a short text and a base64 attachment of deterministic
/// pseudo-random bytes.
pub fn original_of_size(size: usize) -> Vec<u8> {
    let head = format!(
        "From: Mario Rossi <mario.rossi@{}>\r\n\
         To: Ufficio Protocollo <protocollo@{}>\r\n\
         Subject: Richiesta documenti - pratica n. 42\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <bench-{size}@client.example.it>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"bench-boundary\"\r\n\
         \r\n\
         --bench-boundary\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Buongiorno, invio in allegato la documentazione.\r\n\
         --bench-boundary\r\n\
         Content-Type: application/octet-stream; name=\"allegato.bin\"\r\n\
         Content-Disposition: attachment; filename=\"allegato.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n",
        EXAMPLE.domain, OTHER.domain
    );
    let tail = "--bench-boundary--\r\n";
    let budget = size.saturating_sub(head.len() + tail.len());
    // 76 base64 characters + CRLF per line = 57 bytes of payload
    let lines = budget / 78;
    let payload: Vec<u8> =
        (0..lines * 57).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&payload);
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(head.as_bytes());
    for chunk in b64.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    while out.len() + tail.len() < size {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// Domains in the 20 000-domain index.
pub const INDEX_DOMAINS: usize = 20_000;
/// Providers holding them (100 domains each).
pub const INDEX_PROVIDERS: usize = 200;

/// Provider `p`'s `providerName` in the 20 000-domain index.
fn index_provider(p: usize) -> String {
    format!("Gestore {p}")
}

/// Managed domain `d` of provider `p` in the 20 000-domain index.
fn index_domain(p: usize, d: usize) -> String {
    format!("pec.ente{d}.gestore{p}.it")
}

/// The records of the 20 000-domain index: [`INDEX_PROVIDERS`] providers of 100 domains
/// each, with a placeholder certificate hash and no certificate (a look-up index).
pub fn index_records() -> Vec<ProviderRecord> {
    let per = INDEX_DOMAINS / INDEX_PROVIDERS;
    (0..INDEX_PROVIDERS)
        .map(|p| ProviderRecord {
            dn: format!("providerName={},o=postacert", index_provider(p)),
            name: index_provider(p),
            cert_hashes: vec![format!("{:040x}", p + 1)],
            mail_receipt: format!("ricevute@pec.gestore{p}.it"),
            managed_domains: (0..per).map(|d| index_domain(p, d)).collect(),
            ..ProviderRecord::default()
        })
        .collect()
}

/// The same 20 000-domain index as LDIF, each provider with a distinct certificate: `base`
/// (a DER certificate) with the last two bytes of its signature value changed (still valid
/// DER, a distinct SHA-1). Returns the LDIF and every managed domain.
pub fn index_ldif(base: &[u8]) -> (Vec<u8>, Vec<String>) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s =
        String::from("version: 1\n\ndn: o=postacert\nobjectclass: organization\no: postacert\n\n");
    let mut domains = Vec::new();
    for r in index_records() {
        let p = domains.len() / (INDEX_DOMAINS / INDEX_PROVIDERS);
        let mut cert = base.to_vec();
        // the last bytes are the signature value: changing them keeps the DER valid
        let n = cert.len();
        if n >= 2 {
            cert[n - 1] = (p & 0xff) as u8;
            cert[n - 2] = (p >> 8) as u8;
        }
        let hash = pec_core::crypto::sha1_hex(&cert);
        s.push_str(&format!(
            "dn: {}\nobjectclass: top\nobjectclass: provider\nproviderName: {}\n\
             providerCertificateHash: {hash}\n",
            r.dn, r.name
        ));
        let line = format!("providerCertificate;binary:: {}", b64.encode(&cert));
        for (i, chunk) in line.as_bytes().chunks(76).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(std::str::from_utf8(chunk).unwrap_or(""));
            s.push('\n');
        }
        s.push_str(&format!("mailReceipt: {}\n", r.mail_receipt));
        for d in r.managed_domains {
            s.push_str(&format!("managedDomains: {d}\n"));
            domains.push(d);
        }
        s.push('\n');
    }
    (s.into_bytes(), domains)
}

/// The 20 000-domain index in memory, and the domains queried: every managed domain once,
/// shuffled, plus one miss in eight (`.altro` domains).
///
/// # Errors
/// The records do not make an index.
pub fn lookup_index() -> Result<(Directory, Vec<String>)> {
    let dir = Directory::from_records(index_records())?;
    let mut queries: Vec<String> = (0..INDEX_DOMAINS)
        .map(|i| {
            let (p, d) = (i % INDEX_PROVIDERS, i / INDEX_PROVIDERS);
            if i % 8 == 7 { format!("pec.ente{d}.altro{p}.it") } else { index_domain(p, d) }
        })
        .collect();
    // deterministic shuffle (xorshift), so consecutive look-ups hit unrelated buckets
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..queries.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        queries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    Ok((dir, queries))
}

/// The workload names, in output order.
pub const WORKLOADS: [&str; 7] = [
    "sign-envelope-10k",
    "sign-envelope-1m",
    "verify-envelope-10k",
    "verify-envelope-1m",
    "verify-floor-10k",
    "parse-10k",
    "index-lookup",
];

/// Everything the message workloads share, built once: the sender's provider and signer,
/// originals of 10 KiB and 1 MiB and their signed envelopes, verification options (root,
/// CRLs, the two-provider index, at the signing time).
#[derive(Debug)]
pub struct Workloads {
    /// The two providers.
    pub scenario: TwoProviders,
    /// The sender's provider ([`EXAMPLE`]).
    pub provider: Provider,
    /// Its signer.
    pub signer: SoftwareSigner,
    /// The one time reference of every envelope built.
    pub time: TimeReference,
    /// A 10 KiB original.
    pub original_10k: Vec<u8>,
    /// A 1 MiB original.
    pub original_1m: Vec<u8>,
    /// The signed envelope of `original_10k`.
    pub envelope_10k: Vec<u8>,
    /// The signed envelope of `original_1m`.
    pub envelope_1m: Vec<u8>,
    /// What the verification workloads verify with.
    pub opts: VerifyOptions,
    /// The inputs of `verify-floor-10k`, taken from `envelope_10k` once.
    pub floor_10k: Floor,
}

/// What the two unavoidable operations of verifying an envelope work on, located once: the
/// signed bytes, the signed messageDigest, the signed attributes (DER, SET tag, as signed),
/// the RSA signature and the signer's public key (PKCS#1 `RSAPublicKey`).
#[derive(Clone, Debug, Default)]
pub struct Floor {
    /// The first part of `multipart/signed`, exactly as on the wire.
    pub content: Vec<u8>,
    /// The messageDigest signed attribute (SHA-256).
    pub message_digest: Vec<u8>,
    /// The signed attributes as the signature covers them.
    pub signed_attrs: Vec<u8>,
    /// The signature value.
    pub signature: Vec<u8>,
    /// The signer's RSA public key.
    pub public_key: Vec<u8>,
}

impl Floor {
    /// Locates the floor's inputs in a signed envelope (SHA-256 with RSA, as built here).
    ///
    /// # Errors
    /// The envelope is not `multipart/signed` with such a signature.
    pub fn of(envelope: &[u8]) -> Result<Floor> {
        use cms::content_info::ContentInfo;
        use cms::signed_data::SignedData;
        use der::{Decode, Encode};
        let bad = |what: &str| Error::InvalidArgument(format!("verify-floor: {what}"));
        let msg = pec_core::message::SignedMessage::parse(
            envelope,
            &pec_core::limits::Limits::default(),
        )?;
        let signed = msg.signed.ok_or_else(|| bad("not signed"))?;
        let ci = ContentInfo::from_der(&signed.signature).map_err(|_| bad("no ContentInfo"))?;
        let sd: SignedData = ci.content.decode_as().map_err(|_| bad("no SignedData"))?;
        let si = sd.signer_infos.0.get(0).ok_or_else(|| bad("no SignerInfo"))?;
        let attrs = si.signed_attrs.as_ref().ok_or_else(|| bad("no signed attributes"))?;
        let signed_attrs = attrs.to_der().map_err(|_| bad("signed attributes"))?;
        let message_digest = attrs
            .iter()
            .find(|a| a.oid == const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
            .and_then(|a| a.values.get(0))
            .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
            .map(|o| o.as_bytes().to_vec())
            .ok_or_else(|| bad("no messageDigest"))?;
        let signature = si.signature.as_bytes().to_vec();
        let certs = sd.certificates.as_ref().ok_or_else(|| bad("no certificates"))?;
        let public_key = certs
            .0
            .iter()
            .filter_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => c
                    .tbs_certificate()
                    .subject_public_key_info()
                    .subject_public_key
                    .as_bytes()
                    .map(<[u8]>::to_vec),
                _ => None,
            })
            .find(|k| {
                pec_core::crypto::verify_rsa_pkcs1(
                    pec_core::crypto::DigestAlgorithm::Sha256,
                    k,
                    &signed_attrs,
                    &signature,
                )
            })
            .ok_or_else(|| bad("no certificate verifies the signature"))?;
        let floor = Floor {
            content: signed.content.to_vec(),
            message_digest,
            signed_attrs,
            signature,
            public_key,
        };
        floor.once()?;
        Ok(floor)
    }

    /// One SHA-256 of the signed bytes compared with the messageDigest, and one RSA
    /// verification of the signed attributes.
    ///
    /// # Errors
    /// Either does not match.
    pub fn once(&self) -> Result<()> {
        use pec_core::crypto::{DigestAlgorithm, verify_rsa_pkcs1};
        let digest = DigestAlgorithm::Sha256.digest(std::hint::black_box(&self.content));
        let ok = digest == self.message_digest
            && verify_rsa_pkcs1(
                DigestAlgorithm::Sha256,
                &self.public_key,
                std::hint::black_box(&self.signed_attrs),
                &self.signature,
            );
        if ok { Ok(()) } else { Err(Error::InvalidArgument("verify-floor: no match".into())) }
    }
}

impl Workloads {
    /// Generates the PKI (valid a year) and signs the two envelopes.
    ///
    /// # Errors
    /// Key generation, loading or building fails.
    pub fn new() -> Result<Workloads> {
        let scenario = TwoProviders::generate(365)?;
        let mut w = Workloads {
            provider: scenario.provider(0)?,
            signer: scenario.signer(0)?,
            time: TimeReference::now(),
            original_10k: original_of_size(10 * 1024),
            original_1m: original_of_size(1024 * 1024),
            envelope_10k: Vec::new(),
            envelope_1m: Vec::new(),
            opts: scenario.verify_options()?,
            floor_10k: Floor::default(),
            scenario,
        };
        w.envelope_10k = w.sign_envelope(&w.original_10k)?;
        w.envelope_1m = w.sign_envelope(&w.original_1m)?;
        w.floor_10k = Floor::of(&w.envelope_10k)?;
        Ok(w)
    }

    /// Builds and signs a transport envelope around `original`.
    ///
    /// # Errors
    /// Building or signing fails.
    pub fn sign_envelope(&self, original: &[u8]) -> Result<Vec<u8>> {
        let req = BuildRequest {
            kind: MessageKind::TRANSPORT_ENVELOPE,
            time: Some(self.time),
            original: Some(original),
            ..BuildRequest::default()
        };
        self.provider.build(&req, Some(&self.signer))
    }

    /// The trust anchor (PEM) and CRLs (DER) the envelopes verify with, as files:
    /// `root.pem`, `ca.crl`, `root.crl`.
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let p = &self.scenario.pki;
        vec![
            ("root.pem", p.root.cert_pem().into_bytes()),
            ("ca.crl", p.crl_der.clone()),
            ("root.crl", p.root_crl_der.clone()),
        ]
    }

    /// One iteration of message workload `name` (every name of [`WORKLOADS`] but
    /// `index-lookup`).
    ///
    /// # Errors
    /// The first failure (a benchmark of a failing path measures nothing), or an unknown
    /// name.
    pub fn step(&self, name: &str) -> Result<()> {
        match name {
            "sign-envelope-10k" => self.sign_envelope(&self.original_10k).map(drop),
            "sign-envelope-1m" => self.sign_envelope(&self.original_1m).map(drop),
            "verify-envelope-10k" => self.verify_once(&self.envelope_10k),
            "verify-envelope-1m" => self.verify_once(&self.envelope_1m),
            "verify-floor-10k" => self.floor_10k.once(),
            "parse-10k" => {
                let m = PecMessage::parse(&self.envelope_10k)?;
                if m.kind.is_none() {
                    return Err(Error::InvalidArgument("the envelope was not classified".into()));
                }
                Ok(())
            }
            other => Err(Error::InvalidArgument(format!("unknown workload {other:?}"))),
        }
    }

    fn verify_once(&self, env: &[u8]) -> Result<()> {
        let r = verify_message(env, &self.opts)?;
        std::hint::black_box(&r);
        Ok(())
    }
}

/// Runs `work` on `threads` threads for `seconds`; returns the aggregate operations per
/// second. `work` gets the iteration number of its thread.
///
/// # Errors
/// The first error of `work`, or a worker that panicked.
pub fn measure<W>(threads: usize, seconds: f64, work: W) -> Result<f64>
where
    W: Fn(u64) -> Result<()> + Sync,
{
    let budget = Duration::from_secs_f64(seconds.max(0.01));
    // one warm-up iteration per thread outside the clock
    work(0)?;
    let start = Instant::now();
    let counts: Vec<Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let t0 = Instant::now();
                    let mut n = 0u64;
                    loop {
                        work(n)?;
                        n += 1;
                        if t0.elapsed() >= budget {
                            return Ok(n);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(Error::InvalidArgument("worker panicked".into())))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0u64;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / elapsed.max(1e-9))
}

/// The `index-lookup` workload: one `by_domain` per operation on the 20 000-domain index,
/// on `threads` threads for `seconds`.
///
/// # Errors
/// The index does not answer as built.
pub fn index_lookup(threads: usize, seconds: f64) -> Result<f64> {
    let (dir, queries) = lookup_index()?;
    let expected_hits = queries.iter().filter(|q| !q.contains(".altro")).count();
    let hits = queries.iter().filter(|q| dir.by_domain(q).is_some()).count();
    if hits != expected_hits {
        return Err(Error::InvalidArgument(format!(
            "index-lookup: {hits} hits, expected {expected_hits}"
        )));
    }
    let n = queries.len() as u64;
    measure(threads, seconds, |i| {
        let q = queries.get((i % n) as usize).map(String::as_str).unwrap_or_default();
        std::hint::black_box(dir.by_domain(std::hint::black_box(q)));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originals_have_the_size_asked_for() {
        for size in [10 * 1024, 100 * 1024, 1024 * 1024] {
            let o = original_of_size(size);
            assert!((size..=size + 1).contains(&o.len()), "{size}: {}", o.len());
            assert_eq!(PecMessage::parse(&o).unwrap().kind, None);
        }
    }

    #[test]
    fn the_index_has_20000_domains_as_records_and_as_ldif() {
        let (dir, queries) = lookup_index().unwrap();
        assert_eq!(dir.domain_count(), INDEX_DOMAINS);
        assert_eq!(queries.len(), INDEX_DOMAINS);
        let base =
            std::fs::read(crate::repo_root().join("tests/vectors/index/certs/alfa1.der")).unwrap();
        let (ldif, domains) = index_ldif(&base);
        let from_ldif = Directory::from_ldif(&ldif).unwrap();
        assert_eq!((from_ldif.len(), from_ldif.domain_count()), (INDEX_PROVIDERS, INDEX_DOMAINS));
        assert_eq!(domains.len(), INDEX_DOMAINS);
        assert!(domains.iter().all(|d| dir.by_domain(d).is_some()));
    }

    #[test]
    fn every_message_workload_runs_and_the_envelopes_verify() {
        let w = Workloads::new().unwrap();
        for name in WORKLOADS.iter().filter(|n| **n != "index-lookup") {
            w.step(name).unwrap();
        }
        assert!(w.step("nope").is_err());
        let r = verify_message(&w.envelope_10k, &w.opts).unwrap();
        assert_eq!(r.verdict, pec_core::smime::Verdict::Valid, "{:?}", r.reasons);
        assert!(measure(2, 0.01, |_| w.step("parse-10k")).unwrap() > 0.0);
        assert!(index_lookup(1, 0.01).unwrap() > 0.0);
    }
}
