package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// sectionNames are the parts of the page sent again when they change; each template's
// root element has the same id.
var sectionNames = []string{"summary", "problems", "instances", "services", "images"}

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"rfc3339":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"clock":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"bytes":       func(n any) string { return bytesText(toInt64(n)) },
	"pct":         func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	"ms":          latencyText,
	"stamp":       func(t time.Time) string { return t.UTC().Format("Jan 2 15:04:05") },
	"short":       shorten,
	"sub":         func(a, b int) int { return a - b },
	"stateClass":  stateClass,
	"healthClass": healthClass,
}).ParseFS(templateFS, "templates/*.html"))

func toInt64(n any) int64 {
	switch v := n.(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

// latencyText is 42 ms, or 9.8 s from a second on.
func latencyText(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// stateClass colours a service's or an instance's state.
func stateClass(state string) string {
	switch strings.ToLower(state) {
	case "running":
		return "good"
	case "starting", "converging", "pending", "stopping", "backoff", "removing":
		return "busy"
	case "fatal", "failed", "exited":
		return "bad"
	}
	return "idle"
}

func healthClass(h string) string {
	switch h {
	case "healthy":
		return "good"
	case "starting":
		return "busy"
	}
	return "bad"
}

// pageData is the page template's input.
type pageData struct {
	Token string
	View  View
}

// renderPage is the whole page.
func renderPage(token string, v View) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, "page", pageData{Token: token, View: v}); err != nil {
		return nil, fmt.Errorf("render page: %w", err)
	}
	return b.Bytes(), nil
}

// renderSections renders every section of the page for v, by id.
func renderSections(v View) (map[string]string, error) {
	out := make(map[string]string, len(sectionNames))
	var b bytes.Buffer
	for _, name := range sectionNames {
		b.Reset()
		if err := pageTemplates.ExecuteTemplate(&b, name, v); err != nil {
			return nil, fmt.Errorf("render section %s: %w", name, err)
		}
		out[name] = b.String()
	}
	return out, nil
}
