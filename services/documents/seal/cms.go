package seal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
)

// CMS (RFC 5652) SignedData for a PAdES baseline signature (ETSI EN 319 122-1
// CAdES-B): detached, signed attributes content-type, message-digest and ESS
// signing-certificate-v2 and deliberately no signing-time; the RFC 3161
// signature-time-stamp goes into the unsigned attributes.

var (
	oidData                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertV2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSignatureTimeStamp  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSAEncryption       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidExtKeyUsageDocument = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	oidECPublicKey         = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidTSTInfo             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"optional"` // [0] EXPLICIT OCTET STRING
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF AttributeValue
}

type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial issuerSerial
}

type issuerSerial struct {
	Issuer []asn1.RawValue // GeneralNames: [4] directoryName
	Serial *big.Int
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

// setOf wraps DER values in a SET (tag 17), sorted as DER requires.
func setOf(values ...[]byte) asn1.RawValue {
	sorted := append([][]byte(nil), values...)
	sort.Slice(sorted, func(i, j int) bool { return string(sorted[i]) < string(sorted[j]) })
	var content []byte
	for _, v := range sorted {
		content = append(content, v...)
	}
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: content}
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func attr(oid asn1.ObjectIdentifier, value []byte) []byte {
	return mustMarshal(attribute{Type: oid, Values: setOf(value)})
}

// signedAttributes returns the DER of the SET OF signed attributes.
func signedAttributes(digest []byte, cert *x509.Certificate) []byte {
	certHash := sha256.Sum256(cert.Raw)
	ess := signingCertificateV2{Certs: []essCertIDv2{{
		CertHash: certHash[:],
		IssuerSerial: issuerSerial{
			Issuer: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer}},
			Serial: cert.SerialNumber,
		},
	}}}
	set := setOf(
		attr(oidContentType, mustMarshal(oidData)),
		attr(oidMessageDigest, mustMarshal(digest)),
		attr(oidSigningCertV2, mustMarshal(ess)),
	)
	return mustMarshal(set)
}

// signatureAlgorithm names the signature algorithm of key for SHA-256.
func signatureAlgorithm(pub crypto.PublicKey) (pkix.AlgorithmIdentifier, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, nil
	case *rsa.PublicKey:
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("unsupported seal key type %T", pub)
}

// timestamper obtains an RFC 3161 time-stamp token (DER ContentInfo) for a
// SHA-256 digest.
type timestamper func(digest []byte) ([]byte, error)

// buildCMS signs digest (the SHA-256 of the PDF's byte ranges) and returns the
// DER of the ContentInfo.
func buildCMS(digest []byte, signer crypto.Signer, chain []*x509.Certificate, ts timestamper) ([]byte, error) {
	if len(chain) == 0 {
		return nil, errors.New("seal certificate missing")
	}
	cert := chain[0]
	sigAlg, err := signatureAlgorithm(cert.PublicKey)
	if err != nil {
		return nil, err
	}
	attrs := signedAttributes(digest, cert)
	h := sha256.Sum256(attrs)
	sig, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("seal signature: %w", err)
	}
	si := signerInfo{
		Version:            1,
		SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: oidSHA256},
		SignedAttrs:        implicit(0, attrs),
		SignatureAlgorithm: sigAlg,
		Signature:          sig,
	}
	if ts != nil {
		sh := sha256.Sum256(sig)
		token, err := ts(sh[:])
		if err != nil {
			return nil, fmt.Errorf("signature timestamp: %w", err)
		}
		si.UnsignedAttrs = implicit(1, mustMarshal(setOf(attr(oidSignatureTimeStamp, token))))
	}
	var certs []byte
	for _, c := range chain {
		certs = append(certs, c.Raw...)
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256}},
		EncapContentInfo: encapContentInfo{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      []signerInfo{si},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
}

// implicit re-tags the DER of a SET as [tag] IMPLICIT.
func implicit(tag int, setDER []byte) asn1.RawValue {
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(setDER, &rv); err != nil {
		panic(err)
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: rv.Bytes}
}

// parsedCMS is what the verifier needs from a SignedData.
type parsedCMS struct {
	certs     []*x509.Certificate
	signer    *x509.Certificate
	si        signerInfo
	attrsDER  []byte // signed attributes as a SET (what was signed)
	attrs     map[string][][]byte
	unsigned  map[string][][]byte
	digestAlg asn1.ObjectIdentifier
	eContent  []byte // encapsulated content (nil when detached)
}

func parseAttrs(rv asn1.RawValue) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	rest := rv.Bytes
	for len(rest) > 0 {
		var a attribute
		var err error
		rest, err = asn1.Unmarshal(rest, &a)
		if err != nil {
			return nil, err
		}
		vals := a.Values.Bytes
		for len(vals) > 0 {
			var v asn1.RawValue
			vals, err = asn1.Unmarshal(vals, &v)
			if err != nil {
				return nil, err
			}
			out[a.Type.String()] = append(out[a.Type.String()], v.FullBytes)
		}
	}
	return out, nil
}

// parseCMS reads a detached SignedData with one signer.
func parseCMS(der []byte) (*parsedCMS, error) {
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil { // trailing zero padding is fine
		return nil, fmt.Errorf("CMS: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, errors.New("CMS: not SignedData")
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("CMS: %w", err)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("CMS: %d signers, want 1", len(sd.SignerInfos))
	}
	p := &parsedCMS{si: sd.SignerInfos[0]}
	if len(sd.EncapContentInfo.Content.Bytes) > 0 {
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.Content.Bytes, &p.eContent); err != nil {
			return nil, fmt.Errorf("CMS content: %w", err)
		}
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CMS certificates: %w", err)
	}
	p.certs = certs
	for _, c := range certs {
		if string(c.RawIssuer) == string(p.si.SID.Issuer.FullBytes) && c.SerialNumber.Cmp(p.si.SID.Serial) == 0 {
			p.signer = c
		}
	}
	if p.signer == nil {
		return nil, errors.New("CMS: signer certificate missing")
	}
	if len(p.si.SignedAttrs.Bytes) == 0 {
		return nil, errors.New("CMS: no signed attributes")
	}
	p.attrsDER = mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: p.si.SignedAttrs.Bytes})
	if p.attrs, err = parseAttrs(p.si.SignedAttrs); err != nil {
		return nil, fmt.Errorf("CMS signed attributes: %w", err)
	}
	if p.unsigned, err = parseAttrs(p.si.UnsignedAttrs); err != nil {
		return nil, fmt.Errorf("CMS unsigned attributes: %w", err)
	}
	p.digestAlg = p.si.DigestAlgorithm.Algorithm
	return p, nil
}

// checkSignature checks the signer's signature over the signed attributes.
func (p *parsedCMS) checkSignature() error {
	h := sha256.Sum256(p.attrsDER)
	alg := p.si.SignatureAlgorithm.Algorithm
	switch pub := p.signer.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if !alg.Equal(oidECDSAWithSHA256) && !alg.Equal(oidECPublicKey) {
			return fmt.Errorf("unexpected signature algorithm %v", alg)
		}
		if !ecdsa.VerifyASN1(pub, h[:], p.si.Signature) {
			return errors.New("signature does not match")
		}
	case *rsa.PublicKey:
		if !alg.Equal(oidSHA256WithRSA) && !alg.Equal(oidRSAEncryption) {
			return fmt.Errorf("unexpected signature algorithm %v", alg)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], p.si.Signature); err != nil {
			return errors.New("signature does not match")
		}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return nil
}
