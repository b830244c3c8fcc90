//! PEM certificate bundles: certificates rcgen makes come back with the values osquery's
//! `certificates` gives, the host's CA bundle parses whole, and damaged bundles lose only the
//! damaged certificate.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use sha1::{Digest, Sha1};
use vigil_formats::certificates::{self, Certificate};

struct Made {
    ca_pem: String,
    ca_der: Vec<u8>,
    leaf_pem: String,
}

/// A self-signed CA (ECDSA P-256, 2024-01-02 to 2034-01-02, serial 00 8a 01) and a leaf it
/// signed.
fn make() -> Made {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CountryName, "FR");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Vigil Test");
    params
        .distinguished_name
        .push(DnType::CommonName, "vigil test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.serial_number = Some(SerialNumber::from(vec![0x00, 0x8a, 0x01]));
    params.not_before = rcgen::date_time_ymd(2024, 1, 2);
    params.not_after = rcgen::date_time_ymd(2034, 1, 2);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = CertifiedIssuer::self_signed(params, ca_key).expect("CA");

    let mut leaf = CertificateParams::new(vec!["leaf.example".to_owned()]).expect("params");
    leaf.distinguished_name
        .push(DnType::CommonName, "leaf.example");
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = leaf.signed_by(&leaf_key, &ca).expect("leaf");
    Made {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        leaf_pem: leaf.pem(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_generated_ca_and_leaf_have_osquerys_values() {
    let made = make();
    let bundle = format!("# a bundle\n{}\n{}", made.ca_pem, made.leaf_pem);
    let found = certificates::parse_bundle(bundle.as_bytes());
    assert_eq!(found.len(), 2, "{found:#?}");
    let ca = &found[0];
    assert_eq!(
        (
            ca.common_name.as_str(),
            ca.subject.as_str(),
            ca.subject2.as_str()
        ),
        (
            "vigil test CA",
            "/C=FR/O=Vigil Test/CN=vigil test CA",
            "C = FR, O = Vigil Test, CN = vigil test CA"
        )
    );
    assert_eq!(ca.issuer, ca.subject);
    assert_eq!(ca.issuer2, ca.subject2);
    assert!(ca.ca && ca.self_signed, "{ca:#?}");
    // 2024-01-02T00:00:00Z and 2034-01-02T00:00:00Z.
    assert_eq!(ca.not_valid_before, 1_704_153_600);
    assert_eq!(ca.not_valid_after, 2_019_772_800);
    assert_eq!(ca.signing_algorithm, "ecdsa-with-SHA256");
    assert_eq!(ca.key_algorithm, "id-ecPublicKey");
    assert_eq!(ca.key_strength, "prime256v1");
    assert_eq!(ca.key_usage, "CRL Sign, Key Cert Sign, Digital Signature");
    assert_eq!(ca.serial, "8A01");
    assert_eq!(ca.sha1, hex(&Sha1::digest(&made.ca_der)));
    assert_eq!(ca.subject_key_id.len(), 40, "{ca:#?}");

    let leaf = &found[1];
    assert_eq!(leaf.common_name, "leaf.example");
    assert_eq!(leaf.subject, "/CN=leaf.example");
    assert_eq!(leaf.issuer, ca.subject);
    assert!(!leaf.ca && !leaf.self_signed, "{leaf:#?}");
    assert_eq!(leaf.authority_key_id, ca.subject_key_id);
    assert_eq!(leaf.key_usage, "");
}

#[test]
fn a_damaged_certificate_is_skipped_and_the_others_kept() {
    let made = make();
    // The CA's block loses a line of its base64: it decodes, but to a truncated certificate.
    let mut lines: Vec<&str> = made.ca_pem.lines().collect();
    lines.remove(2);
    let damaged = lines.join("\n") + "\n";
    let not_a_certificate = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let bundle = format!("{damaged}{not_a_certificate}{}", made.leaf_pem);
    let found: Vec<Certificate> = certificates::parse_bundle(bundle.as_bytes());
    let names: Vec<&str> = found.iter().map(|c| c.common_name.as_str()).collect();
    assert_eq!(names, ["leaf.example"]);
}

#[test]
fn the_hosts_ca_bundle_parses_whole() {
    for path in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ] {
        let Ok(bytes) = std::fs::read(Path::new(path)) else {
            continue;
        };
        let blocks = String::from_utf8_lossy(&bytes)
            .matches("-----BEGIN CERTIFICATE-----")
            .count();
        let found = certificates::parse_bundle(&bytes);
        assert_eq!(found.len(), blocks, "{path}: every certificate parses");
        for c in &found {
            assert!(!c.subject.is_empty() && !c.issuer.is_empty(), "{c:#?}");
            assert!(c.not_valid_before < c.not_valid_after, "{c:#?}");
            assert!(!c.signing_algorithm.is_empty() && !c.key_algorithm.is_empty());
            assert!(!c.key_strength.is_empty(), "{c:#?}");
            assert!(c.ca, "a CA bundle holds CAs: {c:#?}");
        }
    }
}
