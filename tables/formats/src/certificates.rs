//! PEM certificate bundles (`/etc/ssl/certs/ca-certificates.crt`, `/etc/pki/tls/certs/ca-bundle.crt`)
//! for the `certificates` table: each `CERTIFICATE` (or `TRUSTED CERTIFICATE`) block parsed with
//! x509-parser and described with the values osquery's OpenSSL-based table gives (its
//! `openssl_utils.cpp`): names in OpenSSL's one-line forms, times as Unix times, algorithms by
//! OpenSSL's names, key ids in lowercase hex, the serial in uppercase hex. Blocks that do not
//! decode or parse are skipped, as OpenSSL's reader skips what is not a certificate.

use std::io::Cursor;

use sha1::{Digest, Sha1};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{KeyUsage, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::oid_registry::Oid;
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

/// Certificates read from one bundle at most (Debian's has ~150): a bundle cannot make the
/// table hold an unbounded number of rows.
pub const MAX_CERTIFICATES: usize = 10_000;
/// PEM blocks looked at at most (certificates and anything else, such as keys or CRLs).
const MAX_BLOCKS: usize = 2 * MAX_CERTIFICATES;

/// One certificate, with `certificates`' values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Certificate {
    pub common_name: String,
    /// `X509_NAME_oneline`'s form: `/C=US/O=Org/CN=Name`.
    pub subject: String,
    /// `XN_FLAG_ONELINE`'s form: `C = US, O = Org, CN = Name`.
    pub subject2: String,
    pub issuer: String,
    pub issuer2: String,
    pub ca: bool,
    pub self_signed: bool,
    pub not_valid_before: i64,
    pub not_valid_after: i64,
    pub signing_algorithm: String,
    pub key_algorithm: String,
    /// Bits of an RSA or DSA key, the curve's name of an EC key, empty otherwise.
    pub key_strength: String,
    /// OpenSSL's names of the key usages, `, `-separated; empty without the extension.
    pub key_usage: String,
    pub subject_key_id: String,
    pub authority_key_id: String,
    /// SHA-1 of the DER certificate, lowercase hex.
    pub sha1: String,
    /// Uppercase hex without leading zero bytes, as OpenSSL's `BN_bn2hex`.
    pub serial: String,
}

/// The certificates of a PEM bundle, in order, at most [`MAX_CERTIFICATES`].
pub fn parse_bundle(bundle: &[u8]) -> Vec<Certificate> {
    let mut out = Vec::new();
    for block in Pem::iter_from_reader(Cursor::new(bundle)).take(MAX_BLOCKS) {
        // A block that does not decode is skipped; the reader has gone past it.
        let Ok(pem) = block else {
            continue;
        };
        if pem.label != "CERTIFICATE" && pem.label != "TRUSTED CERTIFICATE" {
            continue;
        }
        if let Some(certificate) = parse_der(&pem.contents) {
            out.push(certificate);
            if out.len() == MAX_CERTIFICATES {
                break;
            }
        }
    }
    out
}

/// One DER certificate's values, or `None` when it does not parse as X.509.
pub fn parse_der(der: &[u8]) -> Option<Certificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let tbs = &cert.tbs_certificate;
    let key_usage = key_usage(&cert);
    let subject_key_id = tbs
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        });
    let authority_key_id = tbs
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        });
    let self_signed = is_self_signed(&cert, key_usage, subject_key_id, authority_key_id);
    Some(Certificate {
        common_name: tbs
            .subject
            .iter_common_name()
            .next()
            .map(attribute_text)
            .unwrap_or_default(),
        subject: oneline(&tbs.subject),
        subject2: oneline_spaced(&tbs.subject),
        issuer: oneline(&tbs.issuer),
        issuer2: oneline_spaced(&tbs.issuer),
        ca: is_ca(&cert, key_usage),
        self_signed,
        not_valid_before: tbs.validity.not_before.timestamp(),
        not_valid_after: tbs.validity.not_after.timestamp(),
        signing_algorithm: algorithm_name(&cert.signature_algorithm.algorithm),
        key_algorithm: algorithm_name(&tbs.subject_pki.algorithm.algorithm),
        key_strength: key_strength(&cert),
        key_usage: key_usage.map(key_usage_names).unwrap_or_default(),
        subject_key_id: subject_key_id.map(hex_lower).unwrap_or_default(),
        authority_key_id: authority_key_id.map(hex_lower).unwrap_or_default(),
        sha1: hex_lower(&Sha1::digest(cert.as_raw())),
        serial: serial_hex(tbs.raw_serial()),
    })
}

fn key_usage<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a KeyUsage> {
    cert.tbs_certificate
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::KeyUsage(usage) => Some(usage),
            _ => None,
        })
}

/// OpenSSL's `X509_check_ca` (but for Netscape's certificate type, which CA bundles no longer
/// use): a key usage without certificate signing says no; basic constraints say; a version 1
/// self-issued certificate is a CA; a key usage with certificate signing says yes.
fn is_ca(cert: &X509Certificate<'_>, key_usage: Option<&KeyUsage>) -> bool {
    if key_usage.is_some_and(|k| !k.key_cert_sign()) {
        return false;
    }
    let basic_constraints =
        cert.tbs_certificate
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => Some(bc.ca),
                _ => None,
            });
    if let Some(ca) = basic_constraints {
        return ca;
    }
    if cert.tbs_certificate.version.0 == 0 && self_issued(cert) {
        return true;
    }
    key_usage.is_some()
}

fn self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.tbs_certificate.subject.as_raw() == cert.tbs_certificate.issuer.as_raw()
}

/// OpenSSL's `X509_check_issued(cert, cert)`, as osquery asks it: issued by its own subject,
/// its authority key id (when both ids are there) its own key id, and a key usage (when there
/// is one) that allows signing certificates. The signature is not verified, as in OpenSSL's.
fn is_self_signed(
    cert: &X509Certificate<'_>,
    key_usage: Option<&KeyUsage>,
    subject_key_id: Option<&[u8]>,
    authority_key_id: Option<&[u8]>,
) -> bool {
    if !self_issued(cert) {
        return false;
    }
    if let (Some(ski), Some(aki)) = (subject_key_id, authority_key_id)
        && ski != aki
    {
        return false;
    }
    key_usage.is_none_or(KeyUsage::key_cert_sign)
}

/// OpenSSL's names of the key usage bits, in osquery's order (by OpenSSL's flag values).
fn key_usage_names(usage: &KeyUsage) -> String {
    let names: [(bool, &str); 9] = [
        (usage.encipher_only(), "Encipher Only"),
        (usage.crl_sign(), "CRL Sign"),
        (usage.key_cert_sign(), "Key Cert Sign"),
        (usage.key_agreement(), "Key Agreement"),
        (usage.data_encipherment(), "Data Encipherment"),
        (usage.key_encipherment(), "Key Encipherment"),
        (usage.non_repudiation(), "Non Repudiation"),
        (usage.digital_signature(), "Digital Signature"),
        (usage.decipher_only(), "Decipher Only"),
    ];
    names
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// OpenSSL's short name of an algorithm (`sha256WithRSAEncryption`, `rsaEncryption`,
/// `id-ecPublicKey`), which oid-registry shares; the dotted OID when it has none.
fn algorithm_name(oid: &Oid<'_>) -> String {
    oid2sn(oid, oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// osquery's `key_strength`: the bits of an RSA modulus or DSA key, an EC key's curve.
fn key_strength(cert: &X509Certificate<'_>) -> String {
    let spki = &cert.tbs_certificate.subject_pki;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let significant = rsa.modulus.iter().skip_while(|b| **b == 0).count();
            (significant * 8).to_string()
        }
        Ok(PublicKey::DSA(y)) => (y.len() * 8).to_string(),
        Ok(PublicKey::EC(_)) => spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|curve| algorithm_name(&curve))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// OpenSSL's short name of a name attribute (`CN`, `O`), the dotted OID for others.
fn attribute_name(oid: &Oid<'_>) -> String {
    let short = match oid.to_id_string().as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => return other.to_owned(),
    };
    short.to_owned()
}

fn attribute_text(attribute: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    match attribute.as_str() {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(attribute.as_slice()).into_owned(),
    }
}

/// `X509_NAME_oneline`: `/C=US/O=Org/CN=Name`.
fn oneline(name: &X509Name<'_>) -> String {
    name.iter_attributes()
        .map(|a| format!("/{}={}", attribute_name(a.attr_type()), attribute_text(a)))
        .collect()
}

/// `X509_NAME_print_ex` with `XN_FLAG_ONELINE`: `C = US, O = Org, CN = Name`, the attributes of
/// one multi-valued RDN joined with ` + `.
fn oneline_spaced(name: &X509Name<'_>) -> String {
    name.iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|a| format!("{} = {}", attribute_name(a.attr_type()), attribute_text(a)))
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn serial_hex(raw: &[u8]) -> String {
    let significant: String = raw
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02X}"))
        .collect();
    if significant.is_empty() {
        "0".to_owned()
    } else {
        significant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_lose_leading_zero_bytes_as_bn2hex() {
        assert_eq!(serial_hex(&[0x00, 0x8a, 0x01]), "8A01");
        assert_eq!(serial_hex(&[0x00]), "0");
        assert_eq!(serial_hex(&[]), "0");
    }

    #[test]
    fn text_without_blocks_has_no_certificates() {
        assert!(parse_bundle(b"").is_empty());
        assert!(parse_bundle(b"# a comment\nnot pem\n").is_empty());
        assert!(
            parse_bundle(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
                .is_empty()
        );
        assert!(
            parse_bundle(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_empty()
        );
    }
}
