package forms

import (
	"log/slog"
	"testing"
	"time"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/keyring/reseal"
	"github.com/kanton/kundencenter/services/forms/form"
)

// A draft and an attachment sealed with k1 are re-sealed with k2, after
// which k1 can be retired and a ring with only k2 reads them.
func TestResealFormsData(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		db := openDB(t, dialect)
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		k1 := keyring.Generate()
		old, _ := keyring.Parse(k1)
		text, err := keyring.AddKey(k1, "k2")
		if err == nil {
			text, err = keyring.Activate(text, "k2")
		}
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := keyring.Parse(text)
		now := time.Now().UTC().Truncate(time.Second)
		owner := Owner{Kind: OwnerPerson, ID: "sub-1"}
		d := &Draft{ID: "d1", Owner: owner, CreatedBy: "sub-1", FormID: "umzug", Version: 1,
			Answers: form.Answers{"name": {"Anna"}}, State: DraftOpen, Created: now, Updated: now, Expires: now.Add(time.Hour)}
		st := &store{db: db, ring: old}
		if err := st.createDraft(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := st.addAttachment(ctx, &Attachment{ID: "a1", DraftID: "d1", Field: "f", Name: "pass.pdf", ContentType: "application/pdf",
			Size: 3, Data: []byte("pdf"), Created: now}, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := reseal.Retire(ctx, db, SealedColumns(), text, "k1"); err == nil {
			t.Fatal("k1 retired while the draft uses it")
		}
		res, err := reseal.Run(ctx, db, cur, SealedColumns(), 0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range res {
			n += r.Resealed
		}
		if n != 3 {
			t.Fatalf("resealed %d values, want 3 (answers, file name, file): %v", n, reseal.Summary(res))
		}
		text, err = reseal.Retire(ctx, db, SealedColumns(), text, "k1")
		if err != nil {
			t.Fatal(err)
		}
		only2, _ := keyring.Parse(text)
		st = &store{db: db, ring: only2}
		got, err := st.draft(ctx, owner, "d1")
		if err != nil || got.Answers.Get("name") != "Anna" {
			t.Fatalf("draft after retiring k1: %v", err)
		}
		as, err := st.attachments(ctx, "d1")
		if err != nil || len(as) != 1 || as[0].Name != "pass.pdf" {
			t.Fatalf("attachments after retiring k1: %v", err)
		}
	})
}
