/* The "source" of the lesson's app. busybox has no C compiler, so build.sh stands in for
   one: what matters here is what a build leaves behind, not the compiling. */
int main(void) { return 0; }
