package reconciler

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/instance"
)

// TestBenchTemplates is `make bench-templates` (WPDIND_BENCH=1): bench-reconcile's add_one
// with and without a site template, three times each, on one running reconciler. Each try
// adds a site with no template (it installs itself, then its template is made), then one
// more from that template, then deletes the template. It ends with one line (medians):
//
//	add_one_install_s=.. add_one_template_s=..
func TestBenchTemplates(t *testing.T) {
	const tries = 3
	w := newEngineWorld(t, "WPDIND_BENCH", 2*tries, "wp-php:8.4", "wp-mariadb:11.8", "wp-nginx:1.26")
	w.opt.SiteTemplates = true
	writeFileAtomic(t, w.file, benchFile(nil))
	r := startReconciler(t, w.eng, w.opt)
	<-r.Ready()
	var ins []itInstance
	var install, template []float64
	add := func() float64 {
		i := len(ins)
		ins = append(ins, itInstance{name: w.instance(fmt.Sprintf("t%d", i)), id: 230 + i, port: w.ports[i]})
		return timeAdd(t, w, r, ins)
	}
	for try := 0; try < tries; try++ {
		install = append(install, add())
		waitTemplate(t, w.root, "")
		template = append(template, add())
		if err := os.RemoveAll(filepath.Join(w.root, instance.TemplatesDir)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("bench: try %d: install %.1fs, template %.1fs\n", try+1, install[try], template[try])
	}
	fmt.Printf("add_one_install_s=%.1f add_one_template_s=%.1f\n", median(install), median(template))
}
