package samsa_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/samsalog/samsa"

// layer ranks the packages of the module as DESIGN.md orders them: a
// package may import only packages of a lower rank, and internal/ from
// anywhere. record and index share a rank but index must not import record.
var layer = map[string]int{
	"record":    1,
	"index":     1,
	"segment":   2,
	"log":       3,
	"partition": 4,
	"group":     5,
	"txn":       5,
	"":          6, // the root package samsa
	"producer":  7,
	"consumer":  7,
	"samsatest": 8,
	"cmd":       8,
	"examples":  9, // examples may show samsatest in use
}

// forbidden are imports no library code of ours may use: the standard log
// package (we take a *slog.Logger) and third-party error packages.
var forbidden = map[string]string{
	"log":                                "library code logs through an optional *slog.Logger",
	"github.com/pkg/errors":              "use the standard errors and fmt.Errorf with %w",
	"github.com/cockroachdb/errors":      "use the standard errors and fmt.Errorf with %w",
	"github.com/hashicorp/go-multierror": "use errors.Join",
	"go.uber.org/multierr":               "use errors.Join",
}

// topOf returns the first path element below the module ("" for the root).
func topOf(rel string) string {
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == "" {
		return ""
	}
	top, _, _ := strings.Cut(rel, "/")
	return top
}

func TestImportDirection(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		from := topOf(dir)
		isTest := strings.HasSuffix(path, "_test.go")
		isMain := f.Name.Name == "main"
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if why, bad := forbidden[p]; bad && !isTest && !isMain {
				t.Errorf("%s imports %q: %s", path, p, why)
			}
			if !strings.HasPrefix(p, module) {
				continue
			}
			to := topOf(strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
			if to == "internal" {
				continue
			}
			if from == "internal" {
				if !isTest {
					t.Errorf("%s: internal/ must not import %q", path, p)
				}
				continue
			}
			if isTest && from == "" {
				continue // the root's tests (this file, examples) may use anything
			}
			fr, ok1 := layer[from]
			tr, ok2 := layer[to]
			switch {
			case !ok1:
				t.Errorf("%s: package %q is not placed in DESIGN.md's layers; add it to deps_test.go", path, from)
			case !ok2:
				t.Errorf("%s imports %q, not placed in DESIGN.md's layers", path, p)
			case from == to:
			case from == "index" && to == "record":
				t.Errorf("%s: index must not import record", path)
			case tr >= fr:
				t.Errorf("%s imports %q: imports run downwards only (%s is above or beside %s)", path, p, to, from)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
