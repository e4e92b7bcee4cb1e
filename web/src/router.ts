/** Goes to a hash route of the studio, e.g. `podcasts/<id>`. */
export function navigate(route: string) {
  location.hash = `#/${route}`;
}
