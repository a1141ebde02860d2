package idptest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AuthenticatorOptions describe a virtual WebAuthn authenticator (CTAP 2.1).
type AuthenticatorOptions struct {
	// Transport is "internal" (a platform authenticator, the default),
	// "usb", "nfc", "ble" or "hybrid".
	Transport webauthn.AuthenticatorTransport
	// ResidentKey lets it store discoverable credentials (passkeys).
	ResidentKey bool
	// UserVerification lets it verify the user (PIN, biometrics); user
	// verification then succeeds.
	UserVerification bool
	// BackupEligible marks its credentials as syncable (BE flag), and
	// BackupState as backed up (BS flag).
	BackupEligible, BackupState bool
}

// AddVirtualAuthenticator enables the WebAuthn domain of the Chromium tab
// in ctx (idptest.Chromium) and adds a virtual authenticator that confirms
// user presence automatically; navigator.credentials.create and get in the
// tab then talk to it instead of real hardware. It returns the
// authenticator's ID for the other WebAuthn commands (GetCredentials,
// RemoveCredential, SetResponseOverrideBits, …).
func AddVirtualAuthenticator(ctx context.Context, o AuthenticatorOptions) (webauthn.AuthenticatorID, error) {
	if o.Transport == "" {
		o.Transport = webauthn.AuthenticatorTransportInternal
	}
	off := false
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &off}); err != nil {
		return "", fmt.Errorf("WebAuthn.enable: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   o.Transport,
			HasResidentKey:              o.ResidentKey,
			HasUserVerification:         o.UserVerification,
			IsUserVerified:              o.UserVerification,
			AutomaticPresenceSimulation: true,
			DefaultBackupEligibility:    o.BackupEligible,
			DefaultBackupState:          o.BackupState,
		},
	})
	if err != nil {
		return "", fmt.Errorf("WebAuthn.addVirtualAuthenticator: %w", err)
	}
	return res.AuthenticatorID, nil
}

// AddVirtualAuthenticator adds a virtual authenticator to the page's tab
// (see the package function); it fails the test on error.
func (p *Page) AddVirtualAuthenticator(o AuthenticatorOptions) webauthn.AuthenticatorID {
	p.T.Helper()
	id, err := AddVirtualAuthenticator(p.Ctx, o)
	if err != nil {
		p.fail(err)
	}
	return id
}

// AuthenticatorCredentials returns the credentials a virtual authenticator
// holds (with their private keys and signature counters).
func (p *Page) AuthenticatorCredentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	p.T.Helper()
	res, err := chromedp.Call(p.Ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		p.fail(fmt.Errorf("WebAuthn.getCredentials: %w", err))
	}
	return res.Credentials
}

// addCredentialParams is WebAuthn.addCredential's parameters without the
// fields that cdproto always sends (generateCmtgKeyOnNextOperation), which
// Chromium refuses for authenticators without that extension.
type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      credentialParams         `json:"credential"`
}

type credentialParams struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
}

// AddAuthenticatorCredential puts a credential into a virtual
// authenticator (e.g. one read with AuthenticatorCredentials and removed,
// with an older signature counter, to play a cloned key).
func (p *Page) AddAuthenticatorCredential(id webauthn.AuthenticatorID, c *webauthn.Credential) {
	p.T.Helper()
	cmd := cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}
	_, err := chromedp.Call(p.Ctx, cmd, addCredentialParams{AuthenticatorID: id, Credential: credentialParams{
		CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID,
		PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: c.SignCount,
		BackupEligibility: c.BackupEligibility, BackupState: c.BackupState,
	}})
	if err != nil {
		p.fail(fmt.Errorf("WebAuthn.addCredential: %w", err))
	}
}
