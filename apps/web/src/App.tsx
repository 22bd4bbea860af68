import { Link } from './components/Link.js';
import { HomePage } from './pages/HomePage.js';
import { SignInPage } from './pages/SignInPage.js';
import { StatusPage } from './pages/StatusPage.js';
import { ROUTES, useRouter } from './router.js';

function NotFoundPage({ path }: { path: string }) {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>There is no page at {path}.</p>
    </section>
  );
}

/** The layout: a header with navigation, the current page, a footer. */
export function App() {
  const { path, navigate } = useRouter();
  const page =
    path === '/' ? (
      <HomePage />
    ) : path === '/status' ? (
      <StatusPage />
    ) : path === '/sign-in' ? (
      <SignInPage />
    ) : (
      <NotFoundPage path={path} />
    );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <span className="brand">Lantern</span>
          <ul>
            {ROUTES.map((route) => (
              <li key={route.path}>
                <Link to={route.path} navigate={navigate} current={route.path === path}>
                  {route.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <footer>
        Open platform for secure research on de-identified health data. Everything is recorded.
      </footer>
    </>
  );
}
