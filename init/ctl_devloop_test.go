package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/ctl"
)

func TestParseLogsArgs(t *testing.T) {
	tests := []struct {
		args []string
		want logsArgs
		err  bool
	}{
		{[]string{"blog"}, logsArgs{name: "blog", n: -1}, false},
		{[]string{"blog", "-n", "5"}, logsArgs{name: "blog", n: 5}, false},
		{[]string{"-f", "blog", "web", "--file", "access.log"}, logsArgs{name: "blog", role: "web", file: "access.log", follow: true, n: -1}, false},
		{[]string{"blog", "php", "-n", "3", "-f"}, logsArgs{name: "blog", role: "php", n: 3, follow: true}, false},
		{[]string{"blog", "cron"}, logsArgs{}, true},
		{[]string{}, logsArgs{}, true},
		{[]string{"a", "php", "b"}, logsArgs{}, true},
	}
	for _, tt := range tests {
		got, err := parseLogsArgs(tt.args)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("%v: %+v, %v; want %+v (error %v)", tt.args, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, errUsage) {
			t.Errorf("%v: %v is no usage error", tt.args, err)
		}
	}
}

// TestShellCommandLines: php as www-data in the document root, a command after --, the
// database client with no credential in its arguments, -t only on a terminal.
func TestShellCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		tty  bool
		want string
	}{
		{[]string{"blog"}, true, "docker -H unix:///d.sock exec -i -t -u www-data -w /var/www/html blog-php sh -c"},
		{[]string{"blog", "web"}, false, "docker -H unix:///d.sock exec -i -w /var/www/html blog-web sh -c"},
		{[]string{"blog", "--user", "root", "--", "ls", "-l"}, false, "docker -H unix:///d.sock exec -i -u root -w /var/www/html blog-php ls -l"},
		{[]string{"blog", "db", "--", "-e", "SELECT 1"}, false, "docker -H unix:///d.sock exec -i blog-db bash -c"},
	}
	for _, tt := range tests {
		a, err := parseShellArgs(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		argv := dockerExecArgs("unix:///d.sock", "blog-"+a.role, a, tt.tty)
		if got := strings.Join(argv, " "); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%v: %s\nwant it to start with %s", tt.args, got, tt.want)
		}
		if a.role == "db" {
			if argv[len(argv)-2] != "-e" || argv[len(argv)-1] != "SELECT 1" || !strings.Contains(argv[len(argv)-4], "--defaults-extra-file=<(printf") {
				t.Errorf("db client: %q", argv)
			}
		}
	}
	if _, err := parseShellArgs([]string{"blog", "redis"}); !errors.Is(err, errUsage) {
		t.Errorf("unknown role: %v", err)
	}
}

// TestInstanceTableGroupsMatrices: a matrix's instances under its name, after the others.
func TestInstanceTableGroupsMatrices(t *testing.T) {
	var b strings.Builder
	err := writeInstanceTable(&b, []ctl.InstanceStatus{
		{Name: "compat-php74-mariadb105-nginx", Matrix: "compat"}, {Name: "blog"}, {Name: "compat-php84-mariadb105-nginx", Matrix: "compat"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		first = append(first, strings.Fields(l)[0])
	}
	want := []string{"INSTANCE", "blog", "compat", "compat-php74-mariadb105-nginx", "compat-php84-mariadb105-nginx"}
	if !slices.Equal(first, want) || !strings.Contains(b.String(), "compat (matrix of 2)") || !strings.Contains(b.String(), "\n  compat-php74") {
		t.Errorf("table:\n%s", b.String())
	}
}
