// What a native module's build would depend on: the image it runs in.
require("fs").copyFileSync("/etc/flavor", "built.txt");
