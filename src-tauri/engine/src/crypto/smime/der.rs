//! What a CMS message says about itself, read before any key is used: its
//! kind, its algorithms, who it is for and who signed it. OpenSSL's CMS
//! functions decide without telling which algorithm they accepted or how
//! many signers there were, so those facts are read here from the DER
//! (OpenSSL re-encodes BER input, such as gpgsm's indefinite lengths, to DER
//! first).

/// One DER element: its tag byte and its contents.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
    /// The whole element, tag and length included.
    pub whole: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTETS: u8 = 0x04;
const INTEGER: u8 = 0x02;

fn bad(what: &str) -> String {
    format!("its CMS structure is malformed ({what})")
}

/// Reads one element from the front of `data`; returns it and the rest.
pub(super) fn read(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let (&tag, rest) = data.split_first().ok_or_else(|| bad("ends early"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("a tag CMS does not use"));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| bad("ends early"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("a length CMS does not use"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("a part is longer than the message"));
    }
    let header = data.len() - rest.len();
    Ok((
        Tlv {
            tag,
            body: &rest[..len],
            whole: &data[..header + len],
        },
        &rest[len..],
    ))
}

/// Every element inside a constructed one.
pub(super) fn children(body: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (tlv, next) = read(rest)?;
        out.push(tlv);
        rest = next;
    }
    Ok(out)
}

fn expect<'a>(tlv: Option<&Tlv<'a>>, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
    match tlv {
        Some(t) if t.tag == tag => Ok(*t),
        _ => Err(bad(what)),
    }
}

/// An object identifier in dotted form ("1.2.840.113549.1.7.2").
pub(super) fn oid(body: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, b) in body.iter().enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < body.len() {
                let first = if value < 80 { value / 40 } else { 2 };
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn oid_of(tlv: Option<&Tlv<'_>>, what: &str) -> Result<String, String> {
    Ok(oid(expect(tlv, OID, what)?.body))
}

/// The OID of an AlgorithmIdentifier.
fn algorithm(tlv: Option<&Tlv<'_>>, what: &str) -> Result<String, String> {
    let seq = expect(tlv, SEQUENCE, what)?;
    oid_of(children(seq.body)?.first(), what)
}

/// Who a signature is by, or whom a key is for, as CMS names a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CertId {
    /// The issuer's name (DER) and the serial number (big-endian, without
    /// leading zeros).
    IssuerSerial {
        issuer: Vec<u8>,
        serial: Vec<u8>,
    },
    SubjectKeyId(Vec<u8>),
}

fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

impl CertId {
    fn read(tlv: &Tlv<'_>) -> Result<CertId, String> {
        match tlv.tag {
            SEQUENCE => {
                let parts = children(tlv.body)?;
                let issuer = expect(parts.first(), SEQUENCE, "issuer")?;
                let serial = expect(parts.get(1), INTEGER, "serial number")?;
                Ok(CertId::IssuerSerial {
                    issuer: issuer.whole.to_vec(),
                    serial: unsigned(serial.body),
                })
            }
            // [0] IMPLICIT SubjectKeyIdentifier
            0x80 => Ok(CertId::SubjectKeyId(tlv.body.to_vec())),
            _ => Err(bad("an unknown certificate identifier")),
        }
    }

    /// Whether this names the certificate.
    pub fn names(&self, cert: &openssl::x509::X509Ref) -> bool {
        match self {
            CertId::IssuerSerial { issuer, serial } => {
                let name = cert.issuer_name().to_der().unwrap_or_default();
                let number = cert
                    .serial_number()
                    .to_bn()
                    .map(|n| n.to_vec())
                    .unwrap_or_default();
                &name == issuer && &unsigned(&number) == serial
            }
            CertId::SubjectKeyId(id) => cert
                .subject_key_id()
                .is_some_and(|k| k.as_slice() == id.as_slice()),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct SignerInfo {
    pub signer: CertId,
    pub digest: String,
    pub signature_algorithm: String,
    /// The signing-time attribute, as seconds since 1970.
    pub signing_time: Option<i64>,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone)]
pub(super) struct SignedData {
    /// Whether the signed content is inside (opaque) rather than beside it.
    pub has_content: bool,
    pub signers: Vec<SignerInfo>,
}

#[derive(Debug, Clone)]
pub(super) struct EnvelopedData {
    /// AuthEnvelopedData (AES-GCM): the content cannot be changed unseen.
    pub authenticated: bool,
    pub cipher: String,
    pub recipients: Vec<CertId>,
}

#[derive(Debug, Clone)]
pub(super) enum Cms {
    Signed(SignedData),
    Enveloped(EnvelopedData),
    /// Any other content type, by OID.
    Other(String),
}

pub(super) const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub(super) const ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";
pub(super) const AUTH_ENVELOPED_DATA: &str = "1.2.840.113549.1.9.16.1.23";
const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

/// Reads a ContentInfo (DER).
pub(super) fn inspect(der: &[u8]) -> Result<Cms, String> {
    let (info, _) = read(der)?;
    let info = expect(Some(&info), SEQUENCE, "ContentInfo")?;
    let parts = children(info.body)?;
    let kind = oid_of(parts.first(), "content type")?;
    let explicit = expect(parts.get(1), 0xa0, "content")?;
    let content = children(explicit.body)?;
    let content = expect(content.first(), SEQUENCE, "content")?;
    match kind.as_str() {
        SIGNED_DATA => signed_data(content.body).map(Cms::Signed),
        ENVELOPED_DATA => enveloped_data(content.body, false).map(Cms::Enveloped),
        AUTH_ENVELOPED_DATA => enveloped_data(content.body, true).map(Cms::Enveloped),
        _ => Ok(Cms::Other(kind)),
    }
}

fn signed_data(body: &[u8]) -> Result<SignedData, String> {
    let parts = children(body)?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates,
    // [1] crls, signerInfos
    let encap = expect(parts.get(2), SEQUENCE, "encapsulated content")?;
    let encap = children(encap.body)?;
    let has_content = encap.get(1).is_some_and(|t| t.tag == 0xa0);
    let infos = expect(parts.last(), SET, "signer infos")?;
    let signers = children(infos.body)?
        .iter()
        .map(signer_info)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedData {
        has_content,
        signers,
    })
}

fn signer_info(tlv: &Tlv<'_>) -> Result<SignerInfo, String> {
    let parts = children(expect(Some(tlv), SEQUENCE, "signer info")?.body)?;
    let signer = CertId::read(parts.get(1).ok_or_else(|| bad("signer"))?)?;
    let digest = algorithm(parts.get(2), "digest algorithm")?;
    let mut at = 3;
    let mut signing_time = None;
    if let Some(attrs) = parts.get(3).filter(|t| t.tag == 0xa0) {
        at = 4;
        for attr in children(attrs.body)? {
            let attr = children(attr.body)?;
            if oid_of(attr.first(), "attribute")? == SIGNING_TIME
                && let Some(values) = attr.get(1)
                && let Some(time) = children(values.body)?.first()
            {
                signing_time = asn1_time(time);
            }
        }
    }
    let signature_algorithm = algorithm(parts.get(at), "signature algorithm")?;
    let signature = expect(parts.get(at + 1), OCTETS, "signature")?
        .body
        .to_vec();
    Ok(SignerInfo {
        signer,
        digest,
        signature_algorithm,
        signing_time,
        signature,
    })
}

/// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), UTC only.
fn asn1_time(tlv: &Tlv<'_>) -> Option<i64> {
    let text = std::str::from_utf8(tlv.body).ok()?.strip_suffix('Z')?;
    let full = match tlv.tag {
        0x17 if text.len() == 12 => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{text}", if yy < 50 { "20" } else { "19" })
        }
        0x18 if text.len() >= 14 => text[..14].to_string(),
        _ => return None,
    };
    let t = chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
    Some(t.and_utc().timestamp())
}

/// The certificates one RecipientInfo encrypts the content key for.
pub(super) fn recipient_ids(info: &Tlv<'_>) -> Result<Vec<CertId>, String> {
    let mut ids = Vec::new();
    match info.tag {
        // KeyTransRecipientInfo: version, rid, ...
        SEQUENCE => {
            let fields = children(info.body)?;
            ids.push(CertId::read(
                fields.get(1).ok_or_else(|| bad("recipient"))?,
            )?);
        }
        // [1] KeyAgreeRecipientInfo: ..., recipientEncryptedKeys (last)
        0xa1 => {
            let fields = children(info.body)?;
            let keys = expect(fields.last(), SEQUENCE, "recipient keys")?;
            for key in children(keys.body)? {
                let key = children(key.body)?;
                let rid = key.first().ok_or_else(|| bad("recipient"))?;
                ids.push(match rid.tag {
                    // [0] RecipientKeyIdentifier: subjectKeyIdentifier first
                    0xa0 => CertId::SubjectKeyId(
                        expect(children(rid.body)?.first(), OCTETS, "key identifier")?
                            .body
                            .to_vec(),
                    ),
                    _ => CertId::read(rid)?,
                });
            }
        }
        // Password, KEK and other recipients name no certificate.
        _ => {}
    }
    Ok(ids)
}

/// The tag and length of a DER element whose contents are `len` bytes.
pub(super) fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

fn enveloped_data(body: &[u8], authenticated: bool) -> Result<EnvelopedData, String> {
    let parts = children(body)?;
    // version, [0] originatorInfo, recipientInfos, (auth)encryptedContentInfo
    let mut at = 1;
    if parts.get(1).is_some_and(|t| t.tag == 0xa0) {
        at = 2;
    }
    let infos = expect(parts.get(at), SET, "recipient infos")?;
    let mut recipients = Vec::new();
    for info in children(infos.body)? {
        recipients.extend(recipient_ids(&info)?);
    }
    let content = expect(parts.get(at + 1), SEQUENCE, "encrypted content")?;
    let cipher = algorithm(
        children(content.body)?.get(1),
        "content encryption algorithm",
    )?;
    Ok(EnvelopedData {
        authenticated,
        cipher,
        recipients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_elements_read_back() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let body = vec![7u8; len];
            let der = [header(0x04, len), body].concat();
            let (tlv, rest) = read(&der).unwrap();
            assert_eq!((tlv.tag, tlv.body.len(), rest.len()), (0x04, len, 0));
        }
        assert_eq!(header(0x02, 1), [0x02, 0x01]);
        assert_eq!(header(0x04, 200), [0x04, 0x81, 200]);
        assert_eq!(header(0x04, 70_000), [0x04, 0x83, 0x01, 0x11, 0x70]);
    }

    #[test]
    fn object_identifiers_read_in_dotted_form() {
        assert_eq!(
            oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
            SIGNED_DATA
        );
        assert_eq!(
            oid(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a]),
            "2.16.840.1.101.3.4.1.42"
        );
    }

    #[test]
    fn truncated_or_strange_input_is_an_error_not_a_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x01],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(read(input).is_err(), "{input:?}");
            assert!(inspect(input).is_err(), "{input:?}");
        }
        assert!(inspect(&[0x30, 0x03, 0x06, 0x01, 0x2a]).is_err());
    }

    #[test]
    fn times_in_both_forms() {
        let utc = Tlv {
            tag: 0x17,
            body: b"260101000000Z",
            whole: &[],
        };
        assert_eq!(asn1_time(&utc), Some(1_767_225_600));
        let general = Tlv {
            tag: 0x18,
            body: b"20260101000000Z",
            whole: &[],
        };
        assert_eq!(asn1_time(&general), Some(1_767_225_600));
        assert_eq!(
            asn1_time(&Tlv {
                tag: 0x17,
                body: b"2601010000+0100",
                whole: &[]
            }),
            None
        );
    }
}
