package reconciler

import (
	"fmt"
	"os"

	"github.com/wp-dind/wp-dind/pkg/config"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// The files of an instance's log folders, for `ctl logs NAME --file FILE` (pkg/sitelogs
// reads them): the folders of the versions the instance declares now.

// components are the declared instance's components by role, or ErrNoInstance.
func (r *Reconciler) components(name string) (map[instance.Role]config.Component, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.inst[name]
	if !ok || st.state == StateRemoving {
		return nil, fmt.Errorf("logs of %q: %w", name, ErrNoInstance)
	}
	c := st.cfg
	return map[instance.Role]config.Component{instance.RoleDB: c.DB, instance.RolePHP: c.PHP, instance.RoleWeb: c.Web}, nil
}

// LogFiles lists the files of the instance's log folders.
func (r *Reconciler) LogFiles(name string) ([]instance.LogFile, error) {
	comps, err := r.components(name)
	if err != nil {
		return nil, err
	}
	return instance.LogFiles(r.layout(name), comps)
}

// OpenLogFile opens file of role's log folder of the instance, following no link.
func (r *Reconciler) OpenLogFile(name string, role instance.Role, file string) (*os.File, error) {
	comps, err := r.components(name)
	if err != nil {
		return nil, err
	}
	c, ok := comps[role]
	if !ok {
		return nil, fmt.Errorf("logs of %q: no role %q", name, role)
	}
	return instance.OpenLogFile(r.layout(name), c, file)
}
