file(REMOVE_RECURSE
  "libvkattn_static.a"
)
