package instance

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ComposeVersion is the compose file format written: 2.4 is the newest that docker-compose
// 1.29 (Debian's package) applies cpus, mem_limit, static addresses and health-gated
// depends_on with, outside swarm.
const ComposeVersion = "2.4"

// Compose exports the definition as docker-compose.yml: the same containers, names, images,
// environment, mounts, addresses, ports, limits and labels wpinit creates. Secret values are
// written as ${KEY}, which docker-compose takes from .env beside the file. The containers are
// confined as wpinit runs them: pids limit, capabilities, no-new-privileges. wpinit
// never reads this file back; it is rewritten whenever the definition changes.
func Compose(d *Definition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# docker-compose.yml of instance %q, exported by wpinit: what wpinit runs, as a\n", d.Name)
	b.WriteString("# compose file. wpinit does not read it and rewrites it on every change; secrets come\n")
	b.WriteString("# from .env beside it. The networks are created by wpinit (or by hand) beforehand.\n")
	fmt.Fprintf(&b, "version: %s\nservices:\n", q(ComposeVersion))
	for i := range d.Containers {
		composeService(&b, &d.Containers[i])
	}
	b.WriteString("networks:\n")
	fmt.Fprintf(&b, "  %s:\n    external: true\n", d.Network)
	if d.Shared != "" {
		fmt.Fprintf(&b, "  %s:\n    external: true\n", d.Shared)
	}
	return b.String()
}

var dependsOn = map[Role]Role{RolePHP: RoleDB, RoleWeb: RolePHP}

func composeService(b *strings.Builder, c *ContainerSpec) {
	fmt.Fprintf(b, "  %s:\n", c.Role)
	fmt.Fprintf(b, "    container_name: %s\n    image: %s\n    restart: unless-stopped\n", q(c.Name), q(c.Image))
	if dep, ok := dependsOn[c.Role]; ok {
		fmt.Fprintf(b, "    depends_on:\n      %s:\n        condition: service_healthy\n", dep)
	}
	if len(c.Env) > 0 {
		b.WriteString("    environment:\n")
		for _, e := range c.Env {
			v := q(strings.ReplaceAll(e.Value, "$", "$$"))
			if e.Secret != "" {
				v = q("${" + e.Secret + "}")
			}
			fmt.Fprintf(b, "      %s: %s\n", e.Name, v)
		}
	}
	b.WriteString("    volumes:\n")
	for _, m := range c.Mounts {
		spec := m.Source + ":" + m.Target
		if m.ReadOnly {
			spec += ":ro"
		}
		fmt.Fprintf(b, "      - %s\n", q(spec))
	}
	fmt.Fprintf(b, "    networks:\n      %s:\n        ipv4_address: %s\n", c.Network, q(c.IP))
	if c.Shared != "" {
		fmt.Fprintf(b, "      %s: {}\n", c.Shared)
	}
	if c.HostPort != 0 {
		fmt.Fprintf(b, "    ports:\n      - %s\n", q(publishSpec(c.HostIP, c.HostPort)))
	}
	if len(c.ExtraHosts) > 0 {
		b.WriteString("    extra_hosts:\n")
		for _, h := range c.ExtraHosts {
			fmt.Fprintf(b, "      - %s\n", q(h))
		}
	}
	if c.CPUs > 0 {
		fmt.Fprintf(b, "    cpus: %s\n", strconv.FormatFloat(c.CPUs, 'f', -1, 64))
	}
	if c.Memory > 0 {
		fmt.Fprintf(b, "    mem_limit: %d\n", c.Memory)
	}
	composePrivileges(b, c)
	fmt.Fprintf(b, "    stop_signal: %s\n    stop_grace_period: %ds\n", c.StopSignal, c.StopTimeout)
	b.WriteString("    labels:\n")
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "      %s: %s\n", k, q(c.Labels[k]))
	}
}

// composePrivileges writes the pids limit, capabilities and security options.
func composePrivileges(b *strings.Builder, c *ContainerSpec) {
	if c.Pids > 0 {
		fmt.Fprintf(b, "    pids_limit: %d\n", c.Pids)
	}
	for _, l := range []struct {
		key  string
		vals []string
	}{{"cap_drop", c.CapDrop}, {"cap_add", c.CapAdd}, {"security_opt", c.SecurityOpt}} {
		if len(l.vals) == 0 {
			continue
		}
		fmt.Fprintf(b, "    %s:\n", l.key)
		for _, v := range l.vals {
			fmt.Fprintf(b, "      - %s\n", q(v))
		}
	}
}

func publishSpec(hostIP string, port int) string {
	if hostIP == "" {
		return fmt.Sprintf("%d:%d", port, WebPort)
	}
	return fmt.Sprintf("%s:%d:%d", hostIP, port, WebPort)
}

// q quotes s as a YAML double-quoted scalar (its escapes are a superset of Go's).
func q(s string) string { return strconv.Quote(s) }
