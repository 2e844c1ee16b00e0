/* The app's source: it should not ship in the release image. */
int main(void) { return 0; }
