package form_test

import (
	"bytes"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kanton/kundencenter/services/forms/definitions"
	"github.com/kanton/kundencenter/services/forms/form"
)

// FuzzParse checks the form-definition parser on arbitrary YAML: no panic;
// an error and a definition never come together; an accepted definition
// matches its file name, and written out as YAML it parses again to the
// same definition (nothing accepted depends on YAML tricks such as
// anchors or merge keys that do not survive the round trip).
func FuzzParse(f *testing.F) {
	files, err := fs.Glob(definitions.FS, "*.v*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("shipped definitions: %v %v", files, err)
	}
	for _, name := range files {
		raw, err := fs.ReadFile(definitions.FS, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, raw)
	}
	f.Add("test.v1.yaml", []byte(valid))
	f.Add("test.v1.yaml", []byte(strings.Replace(valid, "show_if: wahl == \"a\"", "show_if: name == \"a\"", 1)))
	f.Add("test.v1.yaml", []byte("a: &a [*a]"))
	f.Add("test.v1.yaml", []byte("id: &x test\nversion: 1\ncategory: *x\n<<: {minutes: 1}"))
	f.Add("test.v1.yaml", []byte("\xff\x00---\n..."))
	f.Add("../test.v1.yaml", []byte(valid))
	cats := map[string]bool{"c": true}
	if raw, err := fs.ReadFile(definitions.FS, form.CategoriesFile); err == nil {
		var list []struct {
			ID string `yaml:"id"`
		}
		_ = yaml.Unmarshal(raw, &list)
		for _, c := range list {
			cats[c.ID] = true
		}
	}
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		d, err := form.Parse(name, raw, cats)
		if err != nil {
			if d != nil {
				t.Fatalf("Parse returned a definition with the error %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("Parse returned neither a definition nor an error")
		}
		if path.Base(name) != d.ID+".v"+strconv.Itoa(d.Version)+".yaml" {
			t.Fatalf("accepted %q as %s", name, d.Key())
		}
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatalf("marshal an accepted definition: %v", err)
		}
		d2, err := form.Parse(name, out, cats)
		if err != nil {
			t.Fatalf("an accepted definition written out no longer parses: %v\n%s", err, out)
		}
		if out2, _ := yaml.Marshal(d2); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the definition:\n%s\n---\n%s", out, out2)
		}
	})
}
