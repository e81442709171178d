package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The hostile-archive corpus (issue 10): archives a restore must refuse, each with the
// fragment of its one-line refusal, and one it must accept with its modes normalised. They
// are built here, from a good backup of "blog" with one thing changed, and kept, gzipped, as
// the seeds of FuzzStage in testdata/fuzz/FuzzStage (TestHostileArchives holds the files
// equal to this code; -update rewrites them).

// corpusLimits are the limits the corpus and the fuzz target stage with: small enough that
// the archives over them stay small files.
var corpusLimits = Limits{Entry: 64 << 10, Total: 256 << 10, Links: 8}

type hostile struct {
	name    string
	entries []tentry
	want    string      // a fragment of the refusal; "" when the archive is accepted
	expands int64       // bytes archive/tar reads from the entry: what the bomb would have written
	site    fs.FileMode // an accepted archive: the mode data/wordpress/index.php gets
}

// tentry is one entry of a crafted archive: a header and its content, or raw tar blocks for
// what archive/tar cannot write (the GNU sparse formats).
type tentry struct {
	hdr  tar.Header
	body string
	raw  []byte
}

const goodDump = "CREATE TABLE wp_posts (ID int);\nINSERT INTO wp_posts VALUES (1);\n"

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func dir(name string, mode int64) tentry {
	return tentry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: 33, Gid: 33, ModTime: epoch}}
}

func file(name, body string, mode int64) tentry {
	return tentry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), Uid: 33, Gid: 33, ModTime: epoch}, body: body}
}

func link(name, target string) tentry {
	return tentry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func manifest(instance string, dump int64) tentry {
	return file(ManifestName, fmt.Sprintf(`{"format":1,"instance":%q,"id":7,"port":8007,"dump":"database.sql","dump_bytes":%d}`, instance, dump), 0o600)
}

// good is a complete backup of blog, as Create writes one (in miniature).
func good(mode int64) []tentry {
	return []tentry{
		manifest("blog", int64(len(goodDump))),
		file(DumpName, goodDump, 0o600),
		dir("data/wordpress", mode|0o111),
		file("data/wordpress/index.php", "<?php echo 'restored';\n", mode),
		dir("data/wordpress/wp-content", mode|0o111),
		link("data/wordpress/wp-content/home.php", "../index.php"),
		dir("config", mode|0o111),
		dir("config/php-8.4", mode|0o111),
		file("config/php-8.4/php.ini", "memory_limit = 256M\n", mode),
		file(".instance-info", `{"name":"blog","id":7,"port":8007,"generated":{}}`+"\n", mode),
		file(".env", "DB_ROOT_PASSWORD=r\nDB_PASSWORD=d\nWP_ADMIN_PASSWORD=a\n", mode),
	}
}

// replace returns good with the entry called name replaced by with (removed when none).
func replace(name string, with ...tentry) []tentry {
	var out []tentry
	for _, e := range good(0o644) {
		if strings.TrimSuffix(e.hdr.Name, "/") == name {
			out = append(out, with...)
			continue
		}
		out = append(out, e)
	}
	return out
}

// without returns good without the entries under the folder name, the folder included.
func without(name string) []tentry {
	var out []tentry
	for _, e := range good(0o644) {
		if n := strings.TrimSuffix(e.hdr.Name, "/"); n != name && !strings.HasPrefix(n, name+"/") {
			out = append(out, e)
		}
	}
	return out
}

// plus returns good with more entries after its last.
func plus(more ...tentry) []tentry { return append(good(0o644), more...) }

const bomb = 512 << 20 // the logical size of the sparse bombs: 512 MiB from about 350 bytes

func corpus() []hostile {
	xs := func(n int) string { return strings.Repeat("x", n) }
	over := plus(file("data/wordpress/a", xs(60<<10), 0o644), file("data/wordpress/b", xs(60<<10), 0o644),
		file("data/wordpress/c", xs(60<<10), 0o644), file("data/wordpress/d", xs(60<<10), 0o644))
	var links []tentry
	for i := range corpusLimits.Links {
		links = append(links, link(fmt.Sprintf("data/wordpress/l%d", i), "index.php"))
	}
	return []hostile{
		{name: "modes-0666", entries: good(0o666), site: 0o664},
		{name: "setuid", entries: replace("data/wordpress/index.php", file("data/wordpress/index.php", "<?php\n", 0o4777)), site: 0o775},
		{name: "another-instance", entries: append([]tentry{manifest("victim", int64(len(goodDump)))}, good(0o644)[1:]...),
			want: `the archive holds instance "victim", not "blog"`},
		{name: "part-wordpress-link", entries: replace("data/wordpress", link("data/wordpress", "../../victim/data/wordpress")),
			want: `entry "data/wordpress" is a symbolic link, it must be a folder`},
		{name: "part-wordpress-link-last", entries: append(without("data/wordpress"), link("data/wordpress", "../../victim/data/wordpress")),
			want: `entry "data/wordpress" is a symbolic link, it must be a folder`},
		{name: "part-wordpress-file", entries: replace("data/wordpress", file("data/wordpress", "x", 0o644)),
			want: `entry "data/wordpress" is a file, it must be a folder`},
		{name: "part-env-link", entries: replace(".env", link(".env", "../victim/.env")),
			want: `entry ".env" is a symbolic link, it must be a file`},
		{name: "part-env-folder", entries: replace(".env", dir(".env", 0o755)),
			want: `entry ".env/" is a folder, it must be a file`},
		{name: "part-info-link", entries: replace(".instance-info", link(".instance-info", "../victim/.instance-info")),
			want: `entry ".instance-info" is a symbolic link, it must be a file`},
		{name: "part-config-link", entries: replace("config", link("config", "../victim/config")),
			want: `entry "config" is a symbolic link, it must be a folder`},
		{name: "part-config-version-link", entries: replace("config/php-8.4", link("config/php-8.4", "../../victim/config/php-8.4")),
			want: `entry "config/php-8.4" is a symbolic link, it must be a folder or a file`},
		{name: "part-config-file-link", entries: replace("config/php-8.4/php.ini", link("config/php-8.4/php.ini", "/etc/passwd")),
			want: `entry "config/php-8.4/php.ini" is a symbolic link, it must be a folder or a file`},
		{name: "planted-tmp-link", entries: plus(link("config/php-8.4/php.ini.tmp", "../../../../outside/target")),
			want: `entry "config/php-8.4/php.ini.tmp" is a symbolic link, it must be a folder or a file`},
		{name: "link-leaves", entries: plus(link("data/wordpress/wp-content/victim", "../../../../victim/data/wordpress")),
			want: `symbolic link "data/wordpress/wp-content/victim" -> "../../../../victim/data/wordpress" leaves data/wordpress`},
		{name: "link-to-mysql", entries: plus(link("data/wordpress/db", "../mysql")),
			want: `symbolic link "data/wordpress/db" -> "../mysql" leaves data/wordpress`},
		{name: "link-absolute", entries: plus(link("data/wordpress/etc", "/etc")),
			want: `symbolic link "data/wordpress/etc" -> "/etc" leaves data/wordpress`},
		{name: "link-chain", entries: plus(link("data/wordpress/here", "."), link("data/wordpress/db", "here/../mysql")),
			want: `symbolic link "data/wordpress/db" -> "here/../mysql" leaves data/wordpress`},
		{name: "link-chain-late", entries: plus(link("data/wordpress/db", "here/../mysql"), link("data/wordpress/here", ".")),
			want: `symbolic link "data/wordpress/db" -> "here/../mysql" leaves data/wordpress`},
		{name: "write-through-link", entries: plus(link("data/wordpress/up", "wp-content"), file("data/wordpress/up/x.php", "x", 0o644)),
			want: `entry "data/wordpress/up/x.php" goes through a symbolic link`},
		{name: "over-a-link", entries: plus(file("data/wordpress/wp-content/home.php", "<?php\n", 0o644)),
			want: `entry "data/wordpress/wp-content/home.php" goes through a symbolic link`},
		{name: "too-many-links", entries: plus(links...),
			want: `entry "data/wordpress/l7": more than 8 symbolic links`},
		{name: "hard-link", entries: plus(tentry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "data/wordpress/env", Linkname: ".env", ModTime: epoch}}),
			want: `entry "data/wordpress/env" is a hard link, it must be a folder, a file or a symbolic link`},
		{name: "device", entries: plus(tentry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "data/wordpress/null", Devmajor: 1, Devminor: 3, ModTime: epoch}}),
			want: `entry "data/wordpress/null" is a device`},
		{name: "duplicate", entries: plus(file("data/wordpress/index.php", "<?php echo 'twice';\n", 0o644)),
			want: `entry "data/wordpress/index.php" appears twice`},
		{name: "dot-dot", entries: plus(file("data/wordpress/../../../victim/.env", "x", 0o644)),
			want: `entry "data/wordpress/../../../victim/.env" leaves the instance folder`},
		{name: "absolute", entries: plus(file("/wordpress-instances/victim/.env", "x", 0o644)),
			want: `entry "/wordpress-instances/victim/.env" leaves the instance folder`},
		{name: "under-a-file", entries: plus(file("data/wordpress/index.php/x", "x", 0o644)),
			want: `entry "data/wordpress/index.php/x" lies under an entry that is not a folder`},
		{name: "not-a-part", entries: plus(file("data/mysql/ibdata1", "x", 0o644)),
			want: `entry "data/mysql/ibdata1" is not part of an instance backup`},
		{name: "sparse-pax-1.0", entries: plus(tentry{raw: sparsePAX10("data/wordpress/bomb")}),
			want: `entry "data/wordpress/bomb" is a sparse file`, expands: bomb},
		{name: "sparse-pax-0.1", entries: plus(tentry{raw: sparsePAX01("data/wordpress/bomb")}),
			want: `entry "data/wordpress/bomb" is a sparse file`, expands: bomb},
		{name: "sparse-gnu", entries: plus(tentry{raw: sparseGNU("data/wordpress/bomb")}),
			want: `entry "data/wordpress/bomb" is a sparse file`, expands: bomb},
		{name: "over-entry-limit", entries: plus(file("data/wordpress/big", xs(64<<10+1), 0o644)),
			want: `entry "data/wordpress/big" has 65537 bytes, more than the 65536 a restore accepts for it`},
		{name: "over-total-limit", entries: over,
			want: `entry "data/wordpress/d" would take staging past 256KiB (the limit of this restore)`},
		{name: "declared-dump-too-large", entries: append([]tentry{manifest("blog", 1<<40)}, good(0o644)[1:]...),
			want: `the manifest declares a dump of 1099511627776 bytes, more than the 65536 a restore accepts`},
		{name: "own-file-too-large", entries: replace(".env", file(".env", xs(1<<20+1), 0o600)),
			want: `entry ".env" has 1048577 bytes, more than the 1048576 a restore accepts for it`},
		{name: "dump-size-mismatch", entries: append([]tentry{manifest("blog", 3)}, good(0o644)[1:]...),
			want: `database.sql has 65 bytes, the manifest says 3`},
		{name: "no-secrets", entries: replace(".env"), want: `no .env`},
	}
}

// build writes the entries as a tar (not compressed: the seeds are gzipped by the caller).
func build(t testing.TB, entries []tentry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.raw != nil {
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			buf.Write(e.raw)
			continue
		}
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	_, _ = gz.Write(data)
	_ = gz.Close()
	return buf.Bytes()
}

// The GNU sparse formats, written block by block: one data byte at the end of bomb bytes of
// hole. archive/tar reads them (as TypeReg with GNU.sparse.* records, or TypeGNUSparse) and
// hands out the holes as zeros: bomb bytes that a naive extraction writes.

func sparsePAX10(name string) []byte {
	pax := paxRecords("GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name="+name, "GNU.sparse.realsize="+strconv.Itoa(bomb))
	data := append(pad([]byte(fmt.Sprintf("1\n%d\n1\n", bomb-1))), 'x')
	return concat(header("PaxHeaders/bomb", tar.TypeXHeader, len(pax), nil), pad(pax),
		header("GNUSparseFile.0/bomb", tar.TypeReg, len(data), nil), pad(data))
}

func sparsePAX01(name string) []byte {
	pax := paxRecords("path="+name, "GNU.sparse.size="+strconv.Itoa(bomb), "GNU.sparse.numblocks=1", fmt.Sprintf("GNU.sparse.map=%d,1", bomb-1))
	return concat(header("PaxHeaders/bomb", tar.TypeXHeader, len(pax), nil), pad(pax),
		header("bomb", tar.TypeReg, 1, nil), pad([]byte("x")))
}

func sparseGNU(name string) []byte {
	return concat(header(name, tar.TypeGNUSparse, 1, func(b []byte) {
		copy(b[257:], "ustar  \x00") // the GNU format
		copy(b[386:], fmt.Sprintf("%011o\x00%011o\x00", bomb-1, 1))
		copy(b[483:], fmt.Sprintf("%011o\x00", bomb))
	}), pad([]byte("x")))
}

// header is a ustar header block, changed by edit before its checksum is computed.
func header(name string, typ byte, size int, edit func([]byte)) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x000000000\x000000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00%011o\x00", size, 0))
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	if edit != nil {
		edit(b)
	}
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// paxRecords encodes "key=value" records: "LEN key=value\n", LEN counting itself.
func paxRecords(kvs ...string) []byte {
	var out []byte
	for _, kv := range kvs {
		rest := len(kv) + 2 // the space and the newline
		n := rest + len(strconv.Itoa(rest))
		if len(strconv.Itoa(n)) != len(strconv.Itoa(rest)) {
			n = rest + len(strconv.Itoa(n))
		}
		out = fmt.Appendf(out, "%d %s\n", n, kv)
	}
	return out
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
