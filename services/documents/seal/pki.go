package seal

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// TestPKI is a generated certificate hierarchy for development and tests:
// a root, a seal certificate (document-signing EKU, organisation subject)
// and a time-stamp authority certificate, both issued by the root.
type TestPKI struct {
	Root      *x509.Certificate
	SealKey   crypto.Signer
	SealChain []*x509.Certificate // seal certificate first
	TSAKey    crypto.Signer
	TSACert   *x509.Certificate
}

// KeyType chooses the algorithm of generated keys.
type KeyType string

const (
	ECDSA KeyType = "ecdsa" // P-256
	RSA   KeyType = "rsa"   // 2048 bit (tests and benchmarks only)
)

func newKey(kt KeyType) (crypto.Signer, error) {
	if kt == RSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NewTestPKI generates a test hierarchy for organisation org, valid from
// now-1h for five years.
func NewTestPKI(org string, kt KeyType, now time.Time) (*TestPKI, error) {
	rootKey, err := newKey(kt)
	if err != nil {
		return nil, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
		return n
	}
	from, until := now.Add(-time.Hour), now.AddDate(5, 0, 0)
	rootTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " Test Root CA"},
		NotBefore:             from,
		NotAfter:              until.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	issue := func(tmpl *x509.Certificate) (crypto.Signer, *x509.Certificate, error) {
		key, err := newKey(kt)
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial(), from, until
		tmpl.BasicConstraintsValid = true
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
		if err != nil {
			return nil, nil, err
		}
		c, err := x509.ParseCertificate(der)
		return key, c, err
	}
	sealKey, sealCert, err := issue(&x509.Certificate{
		Subject:            pkix.Name{Organization: []string{org}, CommonName: org, Country: []string{"CH"}},
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidExtKeyUsageDocument},
	})
	if err != nil {
		return nil, err
	}
	tsaKey, tsaCert, err := issue(&x509.Certificate{
		Subject:     pkix.Name{Organization: []string{org}, CommonName: org + " Test Time-Stamp Authority"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, err
	}
	return &TestPKI{Root: root, SealKey: sealKey, SealChain: []*x509.Certificate{sealCert}, TSAKey: tsaKey, TSACert: tsaCert}, nil
}

// LoadPEM reads a seal key (PKCS#8, EC or PKCS#1) and its certificate chain
// (seal certificate first) from PEM files.
func LoadPEM(keyFile, certFile string) (crypto.Signer, []*x509.Certificate, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	var key crypto.Signer
	for blk, rest := pem.Decode(kb); blk != nil; blk, rest = pem.Decode(rest) {
		switch blk.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, nil, fmt.Errorf("%s: unsupported key", keyFile)
			}
			key = s
		case "EC PRIVATE KEY":
			if key, err = x509.ParseECPrivateKey(blk.Bytes); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
			}
		case "RSA PRIVATE KEY":
			if key, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
			}
		}
	}
	if key == nil {
		return nil, nil, fmt.Errorf("%s: no private key", keyFile)
	}
	certs, err := LoadCertificates(certFile)
	if err != nil {
		return nil, nil, err
	}
	return key, certs, nil
}

// LoadCertificates reads all certificates of a PEM file.
func LoadCertificates(file string) ([]*x509.Certificate, error) {
	cb, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for blk, rest := pem.Decode(cb); blk != nil; blk, rest = pem.Decode(rest) {
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New(file + ": no certificate")
	}
	return certs, nil
}

// PEMCertificates encodes certificates as PEM.
func PEMCertificates(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// Files of a saved TestPKI.
const (
	testRootFile    = "root.pem"
	testSealKeyFile = "seal-key.pem"
	testSealFile    = "seal.pem"
	testTSAKeyFile  = "tsa-key.pem"
	testTSAFile     = "tsa.pem"
)

// Save writes the hierarchy as PEM files into dir (keys readable by the
// owner only), so that documents sealed in development still verify after
// a restart.
func (p *TestPKI) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key := func(k crypto.Signer) ([]byte, error) {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), err
	}
	sk, err := key(p.SealKey)
	if err != nil {
		return err
	}
	tk, err := key(p.TSAKey)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		testRootFile: PEMCertificates(p.Root), testSealFile: PEMCertificates(p.SealChain...), testTSAFile: PEMCertificates(p.TSACert),
		testSealKeyFile: sk, testTSAKeyFile: tk,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// LoadTestPKI reads a hierarchy written by Save.
func LoadTestPKI(dir string) (*TestPKI, error) {
	p := &TestPKI{}
	var err error
	if p.SealKey, p.SealChain, err = LoadPEM(filepath.Join(dir, testSealKeyFile), filepath.Join(dir, testSealFile)); err != nil {
		return nil, err
	}
	tsaKey, tsaCerts, err := LoadPEM(filepath.Join(dir, testTSAKeyFile), filepath.Join(dir, testTSAFile))
	if err != nil {
		return nil, err
	}
	p.TSAKey, p.TSACert = tsaKey, tsaCerts[0]
	roots, err := LoadCertificates(filepath.Join(dir, testRootFile))
	if err != nil {
		return nil, err
	}
	p.Root = roots[0]
	return p, nil
}
