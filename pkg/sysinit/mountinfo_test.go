package sysinit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountLine(t *testing.T) {
	tests := []struct {
		line string
		want mount
	}{
		{
			line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			want: mount{ID: 36, Parent: 35, Point: "/mnt2", Optional: []string{"master:1"}, FSType: "ext3", Source: "/dev/root"},
		},
		{
			line: "27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw",
			want: mount{ID: 27, Parent: 1, Point: "/", Optional: []string{"shared:1", "master:2"}, FSType: "ext4", Source: "/dev/vda"},
		},
		{
			line: `41 31 0:38 / /mnt/with\040space rw - cgroup2 cgroup2 rw`,
			want: mount{ID: 41, Parent: 31, Point: "/mnt/with space", Optional: []string{}, FSType: "cgroup2", Source: "cgroup2"},
		},
	}
	for _, tt := range tests {
		got, err := parseMountLine(tt.line)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseMountLineErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw",
		"x 35 98:0 / / rw - ext4 /dev/vda rw",
	} {
		if _, err := parseMountLine(line); err == nil {
			t.Errorf("%q: want an error", line)
		}
	}
}

func TestReadMountInfoNamesLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	content := "27 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\nbroken\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readMountInfo(p)
	if err == nil || !strings.Contains(err.Error(), p+":2") {
		t.Fatalf("want an error naming %s:2, got %v", p, err)
	}
}

func TestMountsUnderAndTop(t *testing.T) {
	ms := []mount{
		{ID: 1, Point: "/"},
		{ID: 2, Point: "/sys"},
		{ID: 3, Point: "/sys/fs/cgroup"},
		{ID: 4, Point: "/sysroot"},
		{ID: 5, Point: "/sys"},
	}
	if m, ok := topMountAt(ms, "/sys/"); !ok || m.ID != 5 {
		t.Errorf("topMountAt(/sys) = %+v, %v; want the last stacked (5)", m, ok)
	}
	var ids []int
	for _, m := range mountsUnder(ms, "/sys") {
		ids = append(ids, m.ID)
	}
	if !reflect.DeepEqual(ids, []int{2, 3, 5}) {
		t.Errorf("mountsUnder(/sys) = %v, want [2 3 5] (not /sysroot)", ids)
	}
	if n := len(mountsUnder(ms, "/")); n != 5 {
		t.Errorf("mountsUnder(/) = %d mounts, want 5", n)
	}
}
