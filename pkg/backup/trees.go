package backup

// Tree is a folder or a file from outside the instance folder that an archive holds at Name,
// relative to the instance folder, in place of what the folder has there: a site's code
// mounted from the projects folder (instances.toml's backup_mounts), which the instance
// folder only holds as an empty mount point. A restore writes it there, under the mount.
type Tree struct {
	Source string // absolute path: /projects/my-plugin
	Name   string // data/wordpress/wp-content/plugins/my-plugin
}
