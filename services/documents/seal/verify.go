package seal

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"regexp"
	"slices"
	"time"
)

// Problem codes of a verification (shown to people through the messages of
// the verification page).
const (
	NoSignature      = "no-signature"      // no PDF signature found
	Malformed        = "malformed"         // the signature cannot be read
	DigestMismatch   = "digest-mismatch"   // the document was changed after sealing
	BadSignature     = "bad-signature"     // the CMS signature does not match
	NotCovered       = "not-covered"       // content was appended after the seal
	Untrusted        = "untrusted"         // the certificate does not chain to a trust anchor
	NotDocSigning    = "not-doc-signing"   // the certificate lacks the document-signing EKU
	NoTimestamp      = "no-timestamp"      // no RFC 3161 signature time-stamp
	BadTimestamp     = "bad-timestamp"     // the time-stamp is invalid or untrusted
	NotPAdESBaseline = "not-pades"         // not /ETSI.CAdES.detached with ESS signing-certificate-v2
	SigningTimeAttr  = "signing-time-attr" // a CMS signing-time (forbidden in PAdES baseline)
)

// Result is the outcome of verifying the newest signature of a PDF.
type Result struct {
	Valid        bool      // everything below holds
	Intact       bool      // the signed byte ranges are unchanged
	Trusted      bool      // the seal certificate chains to a trust anchor
	Signer       string    // common name of the seal certificate
	Organization string    // organisation of the seal certificate
	SubFilter    string    // e.g. ETSI.CAdES.detached
	SignedAt     time.Time // the time-stamp's time (zero without a valid one)
	Claimed      string    // the /M entry (the signer's claim)
	Problems     []string  // codes, see above
}

func (r *Result) problem(code string) {
	if !slices.Contains(r.Problems, code) {
		r.Problems = append(r.Problems, code)
	}
}

// Verifier checks PDF seals against trust anchors.
type Verifier struct {
	Roots *x509.CertPool // trust anchors of seal and time-stamp certificates
	Now   func() time.Time
}

var objHeader = regexp.MustCompile(`(\d+)\s+(\d+)\s+obj\b`)

// Verify checks the newest signature of pdf: the CMS signature over the byte
// ranges, that they cover the whole file, the certificate chain (with the
// document-signing EKU, at the time-stamp's time) and the signature
// time-stamp.
func (v *Verifier) Verify(pdf []byte) Result {
	var res Result
	sig, ok := findSignature(pdf)
	if !ok {
		res.problem(NoSignature)
		return res
	}
	res.SubFilter = sig.subFilter
	res.Claimed = sig.claimed
	br := sig.byteRange
	n := int64(len(pdf))
	if len(br) != 4 || br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[2] > n || br[3] < 0 || br[3] > n || br[2]+br[3] > n ||
		pdf[br[1]] != '<' || pdf[br[2]-1] != '>' {
		res.problem(Malformed)
		return res
	}
	if br[2]+br[3] != int64(len(pdf)) {
		res.problem(NotCovered)
	}
	contents := decodeHex(pdf[br[1]+1 : br[2]-1])
	p, err := parseCMS(contents)
	if err != nil {
		res.problem(Malformed)
		return res
	}
	res.Signer = p.signer.Subject.CommonName
	if len(p.signer.Subject.Organization) > 0 {
		res.Organization = p.signer.Subject.Organization[0]
	}

	// Integrity: message-digest over the byte ranges.
	h := sha256.New()
	h.Write(pdf[:br[1]])
	h.Write(pdf[br[2] : br[2]+br[3]])
	var md []byte
	if vals := p.attrs[oidMessageDigest.String()]; len(vals) != 1 || !p.digestAlg.Equal(oidSHA256) {
		res.problem(Malformed)
	} else if _, err := asn1.Unmarshal(vals[0], &md); err != nil {
		res.problem(Malformed)
	}
	res.Intact = md != nil && bytes.Equal(md, h.Sum(nil))
	if !res.Intact {
		res.problem(DigestMismatch)
	}
	if err := p.checkSignature(); err != nil {
		res.problem(BadSignature)
	}

	// PAdES baseline form.
	if sig.subFilter != "ETSI.CAdES.detached" || !essMatches(p) {
		res.problem(NotPAdESBaseline)
	}
	if len(p.attrs[oidSigningTime.String()]) > 0 {
		res.problem(SigningTimeAttr)
	}

	// Time-stamp over the signature value.
	at := time.Now()
	if v.Now != nil {
		at = v.Now()
	}
	tokens := p.unsigned[oidSignatureTimeStamp.String()]
	if len(tokens) == 0 {
		res.problem(NoTimestamp)
	} else if t, ok := v.checkTimestamp(tokens[0], p.si.Signature); ok {
		res.SignedAt, at = t, t
	} else {
		res.problem(BadTimestamp)
	}

	// Certificate chain at the time-stamp's time.
	inter := x509.NewCertPool()
	for _, c := range p.certs {
		if c != p.signer {
			inter.AddCert(c)
		}
	}
	if v.Roots != nil {
		_, err := p.signer.Verify(x509.VerifyOptions{Roots: v.Roots, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		res.Trusted = err == nil
	}
	if !res.Trusted {
		res.problem(Untrusted)
	}
	if !slices.ContainsFunc(p.signer.UnknownExtKeyUsage, oidExtKeyUsageDocument.Equal) {
		res.problem(NotDocSigning)
	}
	res.Valid = len(res.Problems) == 0
	return res
}

// essMatches reports whether the ESS signing-certificate-v2 attribute names
// the signer's certificate.
func essMatches(p *parsedCMS) bool {
	vals := p.attrs[oidSigningCertV2.String()]
	if len(vals) != 1 {
		return false
	}
	var sc signingCertificateV2
	if _, err := asn1.Unmarshal(vals[0], &sc); err != nil || len(sc.Certs) == 0 {
		return false
	}
	sum := sha256.Sum256(p.signer.Raw)
	return bytes.Equal(sc.Certs[0].CertHash, sum[:])
}

// tstInfo is the part of an RFC 3161 TSTInfo the verifier reads.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	SerialNumber *big.Int
	GenTime      time.Time `asn1:"generalized"`
}

// checkTimestamp verifies an RFC 3161 token over sha256(signature): the
// token's own CMS signature over its TSTInfo, the authority's certificate
// (timeStamping EKU, chained to a trust anchor) and the message imprint.
func (v *Verifier) checkTimestamp(token, signature []byte) (time.Time, bool) {
	p, err := parseCMS(token)
	if err != nil || p.eContent == nil || !p.digestAlg.Equal(oidSHA256) || v.Roots == nil {
		return time.Time{}, false
	}
	var ct asn1.ObjectIdentifier
	var md []byte
	if vals := p.attrs[oidContentType.String()]; len(vals) != 1 {
		return time.Time{}, false
	} else if _, err := asn1.Unmarshal(vals[0], &ct); err != nil || !ct.Equal(oidTSTInfo) {
		return time.Time{}, false
	}
	if vals := p.attrs[oidMessageDigest.String()]; len(vals) != 1 {
		return time.Time{}, false
	} else if _, err := asn1.Unmarshal(vals[0], &md); err != nil {
		return time.Time{}, false
	}
	if sum := sha256.Sum256(p.eContent); !bytes.Equal(md, sum[:]) || p.checkSignature() != nil {
		return time.Time{}, false
	}
	var info tstInfo
	if _, err := asn1.Unmarshal(p.eContent, &info); err != nil || !info.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) {
		return time.Time{}, false
	}
	if want := sha256.Sum256(signature); !bytes.Equal(info.MessageImprint.HashedMessage, want[:]) {
		return time.Time{}, false
	}
	inter := x509.NewCertPool()
	for _, c := range p.certs {
		if c != p.signer {
			inter.AddCert(c)
		}
	}
	if _, err := p.signer.Verify(x509.VerifyOptions{Roots: v.Roots, Intermediates: inter, CurrentTime: info.GenTime,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return time.Time{}, false
	}
	return info.GenTime, true
}

// signatureDict is what the verifier reads from a signature dictionary.
type signatureDict struct {
	byteRange []int64
	subFilter string
	claimed   string
}

// findSignature locates the newest signature dictionary (the last
// /ByteRange in the file) and reads it.
func findSignature(pdf []byte) (signatureDict, bool) {
	var sd signatureDict
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return sd, false
	}
	pos := bytes.LastIndex(pdf, []byte("/ByteRange"))
	if pos < 0 {
		return sd, false
	}
	window := pdf[max(0, pos-8192):pos]
	locs := objHeader.FindAllIndex(window, -1)
	if len(locs) == 0 {
		return sd, false
	}
	start := pos - len(window) + locs[len(locs)-1][0]
	lx := &lexer{data: pdf, pos: start}
	lx.next()
	lx.next()
	lx.next() // obj
	d, ok := lx.next().(dict)
	if !ok {
		return sd, false
	}
	arr, _ := d["ByteRange"].([]any)
	for _, x := range arr {
		n, _ := x.(int64)
		sd.byteRange = append(sd.byteRange, n)
	}
	if sf, ok := d["SubFilter"].(name); ok {
		sd.subFilter = string(sf)
	}
	if m, ok := d["M"].([]byte); ok {
		sd.claimed = string(m)
	}
	return sd, len(sd.byteRange) > 0
}
